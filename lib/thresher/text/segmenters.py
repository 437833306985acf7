"""Dictionary word segmenters for languages written without spaces, and Korean's morpheme splitter, from the
`multilingual` extra (`pip install 'thresher[multilingual]'`).

| languages | package | what it is |
|---|---|---|
| Chinese (zh, cmn, yue, wuu, ...) | rjieba | jieba's dictionary and HMM in Rust (jieba-rs), 3.7 MB wheel |
| Japanese (ja) | fugashi + unidic-lite | MeCab with the UniDic-lite dictionary (~250 MB installed) |
| Thai (th) | pythainlp | newmm, maximal matching on its Thai word list (pure Python, ~65 MB installed) |
| Korean (ko) | kiwipiepy + kiwipiepy_model | Kiwi's morphological analyser (C++, its model ~105 MB installed) |
| Lao (lo) | laonlp | pythainlp's newmm on laonlp's Lao word list (pure Python, 13 MB installed; ~1.5 CPU s per MB) |
| Khmer (km) | khmer-nltk | a CRF over character clusters, run by thresher.text.khmer (same words; 0.3 CPU s to load) |

Korean is written with spaces, but between phrases (a noun and its particles, a verb stem and its endings): FineWeb-2
counts Korean words with Kiwi's morphemes, and its Korean stop words are particles and endings (의, 는, 을, 다, ...)
that only such a split finds. With `segmentation: dictionary` each Hangul piece is cut into the spans of Kiwi's
morphemes (as FineWeb-2's tokenizer takes them: a contracted syllable that holds two morphemes counts twice).

Lao and Khmer use the segmenters FineWeb-2's tokenizers use (datatrove: laonlp, khmer-nltk); both ship their
word list or model in the wheel and never touch the network. khmer-nltk's model is a pickled sklearn-crfsuite
CRF: the package brings scikit-learn and SciPy (~220 MB installed), which thresher.text.khmer does not import.
Burmese and Tibetan have none here and count one word per character (Tibetan: per syllable): pyidaungsu, the PyPI
Burmese segmenter, depends on `fasttext` or `fasttext-numpy2-wheel`, either of which replaces the `fasttext` module
of the pinned fasttext-community (language ID), imports fastText at import time and was last released in 2021 (its
numpy-2 fork in 2024); botok (Tibetan) ships no dictionary and downloads it from GitHub on first use.
`segmentation: characters` counts one word per character in every language written without spaces.
A segmenter is loaded once per process; a missing package is an error naming the extra, never a silent fallback.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import cache

from thresher.text.langcodes import macrolanguage, parse

EXTRA = "multilingual"
# Segmenter name -> the packages it needs.
PACKAGES = {
    "zh": ("rjieba",),
    "ja": ("fugashi", "unidic_lite"),
    "th": ("pythainlp",),
    "ko": ("kiwipiepy",),
    "lo": ("laonlp",),
    "km": ("khmernltk",),
}
# ISO 639-3 -> segmenter name, for the languages that have one (Chinese varieties through their macrolanguage).
_BY_ISO3 = {"zho": "zh", "jpn": "ja", "tha": "th", "kor": "ko", "lao": "lo", "khm": "km"}


class MissingSegmenterError(ImportError):
    pass


def segmenter_name(language: str) -> str | None:
    """Which dictionary segmenter a language uses ('zh', 'ja', 'th', 'ko', 'lo', 'km'), None when it has none."""
    code = parse(language)
    if code.iso3 in _BY_ISO3:
        return _BY_ISO3[code.iso3]
    if macrolanguage(code.iso3) == "zho":
        return "zh"
    return None


def missing_packages(name: str | None = None) -> list[str]:
    """The packages of one segmenter (or of all) that are not installed."""
    names = [name] if name else list(PACKAGES)
    return [p for n in names for p in PACKAGES[n] if importlib.util.find_spec(p) is None]


def check_installed() -> None:
    """Raise `MissingSegmenterError` naming the extra when a segmenter package is missing."""
    missing = missing_packages()
    if missing:
        raise MissingSegmenterError(
            f"dictionary word segmentation needs {', '.join(missing)}: pip install 'thresher[{EXTRA}]' "
            "(or set segmentation: characters to count one word per character)"
        )


@cache
def segmenter(name: str) -> Callable[[str], list[str]]:
    """The segmenter `name` ('zh', 'ja', 'th', 'ko', 'lo', 'km'): text without spaces -> words."""
    missing = missing_packages(name)
    if missing:
        raise MissingSegmenterError(
            f"word segmentation for '{name}' needs {', '.join(missing)}: pip install 'thresher[{EXTRA}]' "
            "(or set segmentation: characters to count one word per character)"
        )
    if name == "zh":
        import rjieba

        return rjieba.cut
    if name == "ja":
        import fugashi
        import unidic_lite

        dicdir = unidic_lite.DICDIR
        tagger = fugashi.GenericTagger(f"-r {dicdir}/mecabrc -d {dicdir} -Owakati")

        def japanese(text: str) -> list[str]:
            return tagger.parse(text).split()

        return japanese
    if name == "th":
        from pythainlp.tokenize import word_tokenize

        def thai(text: str) -> list[str]:
            return [w for w in word_tokenize(text, engine="newmm", keep_whitespace=False) if w.strip()]

        return thai
    if name == "ko":
        from kiwipiepy import Kiwi

        kiwi = Kiwi()

        def korean(text: str) -> list[str]:
            return [span for t in kiwi.tokenize(text) if (span := text[t.start : t.end]).strip()]

        return korean
    if name == "lo":
        from laonlp.tokenize import word_tokenize as lao_words

        def lao(text: str) -> list[str]:
            return [w for w in lao_words(text) if w.strip()]

        return lao
    if name == "km":
        import logging

        import khmernltk.utils.log_utils  # noqa: F401  (sets its logger to DEBUG on import: noise per worker)

        from thresher.text.khmer import khmer_tokens

        logging.getLogger("khmer-nltk").setLevel(logging.WARNING)

        def khmer(text: str) -> list[str]:
            # Khmer marks optional word breaks with zero-width spaces, which str.strip() keeps.
            return [w for w in khmer_tokens(text) if w.strip().strip("\u200b")]

        return khmer
    raise ValueError(f"no word segmenter named {name!r}; known: {', '.join(PACKAGES)}")
