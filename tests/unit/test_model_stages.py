"""The model-based row stages on plain documents (no Spark): embed, quality_embedding, quality_fasttext,
toxicity. Classifiers are trained here on generated text; the embedding model is the offline
all-MiniLM-L6-v2 copy."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="needs the `models` extra")
pytest.importorskip("fasttext", reason="needs the `models` extra")

from model_text import prose, quality_corpus, toxicity_corpus
from thresher.conf import load_config
from thresher.errors import ConfigError
from thresher.models.classifier import write_classifier
from thresher.models.embeddings import DEFAULT_MODEL
from thresher.models.encoder import EncoderRuntime, EncoderSpec, encoder, resolve_model
from thresher.models.train import (
    FastTextOptions,
    HeadOptions,
    fit_fasttext,
    fit_logistic,
    head_info,
    save_fasttext,
)
from thresher.stages.fused import run_row_stages
from thresher.stages.models.embed import Embed, EmbedParams
from thresher.stages.models.quality import (
    QualityEmbedding,
    QualityEmbeddingParams,
    QualityFastText,
    QualityFastTextParams,
)
from thresher.stages.models.toxicity import Toxicity, ToxicityParams, WordList, lower_words

GOOD, BAD = quality_corpus(60, 60)
TEST_GOOD, TEST_BAD = GOOD[-10:], BAD[-10:]
SMALL_FASTTEXT = FastTextOptions(epoch=10, bucket=20_000, dim=20)


def _plain(texts: list[str]) -> np.ndarray:
    vectors, _ = encoder(EncoderSpec(), EncoderRuntime()).encode(texts)
    return vectors


@pytest.fixture(scope="module")
def head_dir(tmp_path_factory) -> str:
    train = GOOD[:-10] + BAD[:-10]
    labels = np.array([1] * 50 + [0] * 50)
    weights, bias = fit_logistic(_plain([d["text"] for d in train]), labels, 1.0, 1000)
    path = tmp_path_factory.mktemp("head")
    write_classifier(str(path), head_info(weights, bias, EncoderSpec(), HeadOptions()))
    return str(path)


def _fasttext_dir(path: Path, positive: list[dict], negative: list[dict]) -> str:
    texts = [d["text"] for d in positive + negative]
    labels = np.array([1] * len(positive) + [0] * len(negative))
    write_classifier(
        str(path), save_fasttext(fit_fasttext(texts, labels, SMALL_FASTTEXT, 1), SMALL_FASTTEXT, str(path))
    )
    return str(path)


@pytest.fixture(scope="module")
def quality_fasttext_dir(tmp_path_factory) -> str:
    return _fasttext_dir(tmp_path_factory.mktemp("ft_quality"), GOOD[:-10], BAD[:-10])


@pytest.fixture(scope="module")
def toxicity_dir(tmp_path_factory) -> str:
    toxic, civil = toxicity_corpus(80, 80)
    return _fasttext_dir(tmp_path_factory.mktemp("ft_toxicity"), toxic, civil)


# -- embed ---------------------------------------------------------------------------------------------------


def test_embed_writes_the_column_contract_and_matches_plain_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    docs = [{"doc_id": d["id"], "text": d["text"]} for d in TEST_GOOD[:3] + TEST_BAD[:2]]
    rows = run_row_stages([Embed()], docs)
    first = rows[0]["embed"]
    assert list(first) == ["keep", "reason", "vector", "model", "dim", "chunks"]
    assert all(r["embed"]["keep"] is True and r["embed"]["reason"] is None for r in rows)
    assert {(r["embed"]["model"], r["embed"]["dim"], r["embed"]["chunks"]) for r in rows} == {(DEFAULT_MODEL, 384, 1)}
    vectors = np.array([r["embed"]["vector"] for r in rows], dtype=np.float32)
    assert vectors.shape == (5, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    plain = SentenceTransformer(resolve_model(DEFAULT_MODEL)[0], device="cpu").encode(
        [d["text"] for d in docs], normalize_embeddings=True
    )
    assert np.min(np.sum(vectors * plain, axis=1)) > 0.9999


def test_chunking_sees_the_whole_document_where_truncation_sees_its_start():
    rng = random.Random(3)
    first_topic = prose(rng, 30)
    second_topic = " ".join(["Volcanic eruptions release ash, lava and sulphur gases into the atmosphere."] * 20)
    doc = {"text": f"{first_topic} {second_topic}"}
    params = {"max_seq_length": 128, "max_chunks": 16}
    truncated = run_row_stages([Embed(EmbedParams(**params))], [doc])[0]["embed"]
    chunked = run_row_stages([Embed(EmbedParams(long_docs="chunk", **params))], [doc, {"text": "short"}])
    assert truncated["chunks"] == 1
    assert chunked[0]["embed"]["chunks"] > 3 and chunked[1]["embed"]["chunks"] == 1
    assert np.isclose(np.linalg.norm(chunked[0]["embed"]["vector"]), 1.0, atol=1e-5)
    topic = _plain([second_topic])[0]
    assert np.dot(chunked[0]["embed"]["vector"], topic) > np.dot(truncated["vector"], topic) + 0.1
    capped = run_row_stages([Embed(EmbedParams(long_docs="chunk", max_seq_length=128, max_chunks=2))], [doc])
    assert capped[0]["embed"]["chunks"] == 2


def test_encoders_sharing_a_model_keep_their_own_windows():
    short = encoder(EncoderSpec(max_seq_length=16), EncoderRuntime())
    default = encoder(EncoderSpec(), EncoderRuntime())
    assert short.model is default.model
    assert (short.max_seq_length, default.max_seq_length) == (16, 256)
    long_text = prose(random.Random(5), 40)
    assert not np.allclose(short.encode([long_text])[0], default.encode([long_text])[0], atol=1e-3)


def test_a_window_longer_than_the_model_supports_is_refused():
    with pytest.raises(ValueError, match="exceeds what model"):
        Embed(EmbedParams(max_seq_length=4096)).setup()


# -- quality_embedding ---------------------------------------------------------------------------------------


def test_quality_embedding_keeps_prose_and_removes_spam(head_dir):
    stage = QualityEmbedding(QualityEmbeddingParams(model=head_dir, min_score=0.5))
    rows = run_row_stages([stage], TEST_GOOD + TEST_BAD)
    assert [r["quality_embedding"]["keep"] for r in rows] == [True] * 10 + [False] * 10
    assert {r["quality_embedding"]["reason"] for r in rows[10:]} == {"low_quality"}
    assert all(r["quality_embedding"]["reused_embedding"] is False for r in rows)
    assert min(r["quality_embedding"]["score"] for r in rows[:10]) > max(
        r["quality_embedding"]["score"] for r in rows[10:]
    )


def test_quality_embedding_reads_the_embed_column_when_it_holds_the_heads_model(head_dir):
    stage = QualityEmbedding(QualityEmbeddingParams(model=head_dir))
    docs = TEST_GOOD[:2] + TEST_BAD[:2]
    alone = run_row_stages([stage], docs)
    fused = run_row_stages([Embed(), stage], docs)
    assert all(r["quality_embedding"]["reused_embedding"] for r in fused)
    assert np.allclose(
        [r["quality_embedding"]["score"] for r in fused], [r["quality_embedding"]["score"] for r in alone], atol=1e-4
    )
    # A stored vector is trusted: a good document carrying a spam document's vector scores like spam.
    spam_vector = fused[2]["embed"]["vector"]
    stored = {"keep": True, "reason": None, "vector": spam_vector, "model": DEFAULT_MODEL, "dim": 384, "chunks": 1}
    swapped = run_row_stages([stage], [{**TEST_GOOD[0], "embed": stored}])[0]["quality_embedding"]
    assert swapped["reused_embedding"] is True and swapped["keep"] is False
    # Vectors of another model are not used: the document is embedded again.
    other = run_row_stages([stage], [{**TEST_GOOD[0], "embed": {**stored, "model": "other/model"}}])
    assert other[0]["quality_embedding"]["reused_embedding"] is False
    assert other[0]["quality_embedding"]["keep"] is True


# -- quality_fasttext ----------------------------------------------------------------------------------------


def test_quality_fasttext_writes_probabilities_and_decides_by_min_score(quality_fasttext_dir):
    rows = run_row_stages([QualityFastText(QualityFastTextParams(model=quality_fasttext_dir))], TEST_GOOD + TEST_BAD)
    scores = np.array([r["quality_fasttext"]["score"] for r in rows])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores[:10].min() > scores[10:].max()
    assert [r["quality_fasttext"]["keep"] for r in rows] == [True] * 10 + [False] * 10
    lenient = QualityFastText(QualityFastTextParams(model=quality_fasttext_dir, min_score=0.0))
    assert all(r["quality_fasttext"]["keep"] for r in run_row_stages([lenient], TEST_BAD))


def test_model_stages_fail_at_config_time_without_a_trained_classifier(tmp_path, head_dir):
    def load(stages: str):
        return load_config(data={"input": {"path": "x"}, "stages": json.loads(stages)})

    with pytest.raises(ConfigError, match=r"stages.quality_fasttext.model: None is not allowed: .*required"):
        load('{"quality_fasttext": {}}')
    with pytest.raises(ConfigError, match=r"no trained classifier at .*missing"):
        load(json.dumps({"quality_fasttext": {"model": str(tmp_path)}}))
    with pytest.raises(ConfigError, match=r"holds a 'embedding' classifier; this stage needs a 'fasttext' one"):
        load(json.dumps({"quality_fasttext": {"model": head_dir}}))
    with pytest.raises(ConfigError, match=r"stages.embed.long_docs"):
        load('{"embed": {"long_docs": "summarise"}}')


def test_retraining_a_classifier_in_place_changes_the_stage_fingerprint(tmp_path):
    path = _fasttext_dir(tmp_path / "ft", GOOD[:20], BAD[:20])
    before = QualityFastText(QualityFastTextParams(model=path)).fingerprint()
    _fasttext_dir(tmp_path / "ft", GOOD[20:40], BAD[20:40])
    assert QualityFastText(QualityFastTextParams(model=path)).fingerprint() != before


# -- toxicity ------------------------------------------------------------------------------------------------


def test_word_list_counts_words_and_phrases_on_word_boundaries():
    words = WordList(["# comment", "darn", "Heck Yes", ""])
    assert words.count(lower_words("Darn it, heck yes! darnation and heck no")) == 2
    assert words.count(lower_words("nothing here")) == 0


def test_toxicity_word_list_signal_and_threshold_without_a_classifier(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("darn\nblast it\n")
    stage = Toxicity(ToxicityParams(words_file=str(words), max_flagged_ratio=0.2))
    rows = run_row_stages([stage], [{"text": "darn darn blast it"}, {"text": "a darn fine day out here today"}])
    first, second = rows[0]["toxicity"], rows[1]["toxicity"]
    assert first["score"] is None and first["flagged_words"] == 3 and first["keep"] is False
    assert first["reason"] == "flagged_words"
    assert second["flagged_words"] == 1 and second["keep"] is True
    builtin = run_row_stages([Toxicity()], [{"text": "what the fuck"}])[0]["toxicity"]
    assert builtin["flagged_words"] == 1 and builtin["keep"] is True  # signal only without max_flagged_ratio


def test_toxicity_classifier_flags_abuse(toxicity_dir):
    toxic, civil = toxicity_corpus(10, 10, seed=99)
    rows = run_row_stages([Toxicity(ToxicityParams(model=toxicity_dir))], toxic + civil)
    assert [r["toxicity"]["keep"] for r in rows] == [False] * 10 + [True] * 10
    assert {r["toxicity"]["reason"] for r in rows[:10]} == {"toxic_score"}
    assert all(r["toxicity"]["score"] < 0.5 for r in rows[10:])
