"""Text as an n-gram language model sees it: CCNet's normalization, then word and punctuation tokens.

CCNet (Wenzek et al. 2019, `cc_net/text_normalizer.normalize`) scores each line of a document after lowercasing,
stripping accents (NFD, combining marks dropped), turning every digit into 0, mapping Unicode punctuation to its
ASCII form and removing control characters. CCNet then cuts lines into SentencePiece pieces; thresher cuts them
into words and single punctuation marks (`\\w+` runs and each other non-space character) instead, so that a model
needs no second artifact (a SentencePiece model trained and shipped beside every LM) and `train-lm` and the
`perplexity` stage agree by construction. Scripts written without spaces (Chinese, Japanese, Thai) come out as
one token per run of letters, which makes their n-gram statistics weak: train those languages' models on text
segmented beforehand, or expect coarser scores.

Training and scoring must use the same function; `tokenize_line` is that function.
"""

from __future__ import annotations

import re
import unicodedata

# CCNet's replacement table for Unicode punctuation (cc_net/text_normalizer.py, UNICODE_PUNCT).
UNICODE_PUNCT = {
    "，": ",",
    "。": ".",
    "、": ",",
    "„": '"',
    "”": '"',
    "“": '"',
    "«": '"',
    "»": '"',
    "１": '"',
    "」": '"',
    "「": '"',
    "《": '"',
    "》": '"',
    "´": "'",
    "∶": ":",
    "：": ":",
    "？": "?",
    "！": "!",
    "（": "(",
    "）": ")",
    "；": ";",
    "–": "-",
    "—": " - ",
    "．": ". ",
    "～": "~",
    "’": "'",
    "…": "...",
    "━": "-",
    "〈": "<",
    "〉": ">",
    "【": "[",
    "】": "]",
    "％": "%",
    "►": "-",
}
_PUNCT_TABLE = str.maketrans(UNICODE_PUNCT)
_NON_PRINTING = re.compile("[" + "".join(map(chr, [*range(32), *range(127, 160)])) + "]")
_DIGIT = re.compile(r"\d")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def normalize_line(line: str) -> str:
    """CCNet's `normalize(line)` with its defaults: case, accents, digits, punctuation, control characters."""
    line = line.strip()
    if not line:
        return line
    line = line.lower()
    decomposed = unicodedata.normalize("NFD", line)
    line = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    line = _DIGIT.sub("0", line)
    line = line.translate(_PUNCT_TABLE)
    return _NON_PRINTING.sub("", line)


def tokenize_line(line: str) -> list[str]:
    """The LM tokens of one line: normalized, then words and single punctuation marks."""
    return _TOKEN.findall(normalize_line(line))


def document_sentences(text: str) -> list[list[str]]:
    """The token lists of a document's non-empty lines; each line is one LM sentence (<s> ... </s>), as in
    CCNet, which scores documents line by line."""
    sentences = []
    for line in text.split("\n"):
        tokens = tokenize_line(line)
        if tokens:
            sentences.append(tokens)
    return sentences
