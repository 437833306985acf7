"""BatchedFastText gives fastText's own top label and probability: the bundled lid.176.ftz, models trained here
(dense and quantized, hierarchical softmax and softmax), tokens fastText treats specially, and real text."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_corpus
from thresher.models.fasttext_batch import BatchedFastText, supports

fasttext = pytest.importorskip("fasttext")

# Probabilities: fastText sums float32, BatchedFastText float64 (measured: at most 1.6e-5 apart on real text).
PROBABILITY_TOLERANCE = 1e-4

SENTENCES = [
    "The quick brown fox jumps over the lazy dog while the committee reviews its annual budget",
    "Le comité examine son budget annuel pendant que le renard brun saute par-dessus le chien",
    "Der Ausschuss prüft seinen Jahreshaushalt, während der braune Fuchs über den faulen Hund springt",
    "El comité revisa su presupuesto anual mientras el zorro marrón salta sobre el perro perezoso",
    "Комитет рассматривает годовой бюджет, пока бурая лиса прыгает через ленивую собаку",
    "委员会正在审查年度预算，棕色的狐狸跳过了懒狗",
    "委員会は年間予算を検討しており、茶色の狐が怠け者の犬を飛び越えます",
    "لجنة تراجع ميزانيتها السنوية بينما يقفز الثعلب البني فوق الكلب الكسول",
    "समिति अपने वार्षिक बजट की समीक्षा कर रही है जबकि भूरी लोमड़ी आलसी कुत्ते पर कूदती है",
    "Η επιτροπή εξετάζει τον ετήσιο προϋπολογισμό της ενώ η καφέ αλεπού πηδά πάνω από τον σκύλο",
]
# Tokens fastText reads in its own way: labels, its end-of-line word, NUL as a separator, 4-byte characters,
# single characters and very long tokens.
ODD_LINES = [
    "__label__en __label__fr bonjour",
    "</s> </s> hello",
    "hello\x00world\x00\x00again",
    "emoji 😀😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 text",
    "a b c d e f g",
    "x" * 500 + " " + "ü" * 300,
    "https://example.com/a/very/long/path?with=query&and=more 12345 $%^&*",
    "Tiếng Việt có dấu rất nhiều",
    "ไม่มีช่องว่างระหว่างคำในภาษาไทย",
]


def _lines(count: int, seed: int = 7) -> list[str]:
    """Lines mixing the sentences' words at random (other languages' words inside a line included)."""
    rng = random.Random(seed)
    words = [w for s in SENTENCES for w in s.split()]
    lines = []
    for _ in range(count):
        base = rng.choice(SENTENCES).split()
        base += rng.sample(words, rng.randint(0, 6))
        rng.shuffle(base)
        lines.append(" ".join(base[: rng.randint(1, len(base))]))
    return lines + SENTENCES + ODD_LINES


def _assert_same(model, path: str, lines: list[str]) -> None:
    labels, probabilities = BatchedFastText(model, path).predict(lines)
    native_labels, native_probabilities = model.predict(lines, k=1)
    expected = [label[0] for label in native_labels]
    differ = [(lines[i][:60], expected[i], labels[i]) for i in range(len(lines)) if expected[i] != labels[i]]
    assert not differ, differ[:5]
    gap = np.abs(np.array([p[0] for p in native_probabilities]) - np.array(probabilities))
    assert gap.max() < PROBABILITY_TOLERANCE


def test_bundled_language_model() -> None:
    from thresher.stages.quality.language import bundled_model_path

    path = bundled_model_path()
    model = fasttext.load_model(path)
    assert supports(model)
    _assert_same(model, path, _lines(400))


@pytest.mark.parametrize("loss", ["hs", "softmax"])
@pytest.mark.parametrize("quantized", [False, True])
def test_models_trained_here(tmp_path: Path, loss: str, quantized: bool) -> None:
    rng = random.Random(3)
    training = tmp_path / "train.txt"
    with training.open("w", encoding="utf-8") as out:
        for _ in range(30):
            for label, sentence in enumerate(SENTENCES):
                words = sentence.split()
                rng.shuffle(words)
                out.write(f"__label__l{label} {' '.join(words[: rng.randint(1, len(words))])}\n")
    model = fasttext.train_supervised(
        str(training), dim=8, epoch=5, minn=2, maxn=4, wordNgrams=1, loss=loss, bucket=50_000, seed=1, thread=1
    )
    path = tmp_path / ("model.ftz" if quantized else "model.bin")
    if quantized:
        model.quantize(input=str(training), cutoff=2_000, retrain=False, qnorm=False)
    model.save_model(str(path))
    model = fasttext.load_model(str(path))
    assert supports(model)
    _assert_same(model, str(path), _lines(300, seed=11))


def test_models_it_leaves_to_fasttext(tmp_path: Path) -> None:
    training = tmp_path / "train.txt"
    training.write_text("".join(f"__label__l{i % 2} {s}\n" for i, s in enumerate(SENTENCES * 5)), encoding="utf-8")
    bigrams = fasttext.train_supervised(str(training), dim=4, epoch=1, wordNgrams=2, seed=1, thread=1)
    assert not supports(bigrams)
    with pytest.raises(ValueError, match="predicts this model itself"):
        BatchedFastText(bigrams, str(training))


def test_real_text_in_every_language() -> None:
    from thresher.stages.quality.language import bundled_model_path

    udhr = shared_corpus("multilingual/udhr_all.jsonl.gz")
    web = shared_corpus("dolma_cc_2019_30_raw.jsonl")
    with gzip.open(udhr, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    texts += [paragraph for text in texts for paragraph in text.split("\n")[:5]]
    with web.open(encoding="utf-8") as lines:
        texts += [json.loads(line)["text"] for line in lines]
    cleaned = [" ".join(text.split()) for text in texts]
    path = bundled_model_path()
    _assert_same(fasttext.load_model(path), path, [line for line in cleaned if line])
