"""A bigram model worked out by hand (interpolated modified Kneser-Ney) and its corpus, for the LM tests.

Corpus: three lines, "a b", "a b", "b a" -> sentences <s> a b </s> (twice) and <s> b a </s>.

Adjusted counts. Bigrams (the highest order) keep their counts: <s> a 2, a b 2, b </s> 2, <s> b 1, b a 1,
a </s> 1. Unigrams get their number of distinct left neighbours: a {<s>, b} 2, b {a, <s>} 2, </s> {b, a} 2.
Counts of counts: bigrams t1 = 3, t2 = 3, t3 = 0 and unigrams t1 = 0: the discounts are undefined and fall back
to lmplz's 0.5, 1, 1.5 (D1, D2, D3+) at both orders.

Unigrams: denominator 6, u(w) = (2 - 1) / 6 = 1/6 for a, b, </s>; gamma = (D2 * 3) / 6 = 1/2, spread uniformly
over the vocabulary a, b, </s>, <unk> (4 words, <s> excluded): p(w) = 1/6 + 1/8 = 7/24, p(<unk>) = 1/8.
Bigrams: every context (<s>, a, b) has one continuation of count 2 and one of count 1: denominator 3,
u = (2 - 1) / 3 = 1/3 and (1 - 0.5) / 3 = 1/6, gamma = (0.5 + 1) / 3 = 1/2. So p(a|<s>) = p(b|a) = p(</s>|b)
= 1/3 + 1/2 * 7/24 = 23/48; p(b|<s>) = p(</s>|a) = p(a|b) = 1/6 + 7/48 = 15/48; an unseen bigram backs off:
p(a|a) = 1/2 * 7/24 = 7/48, p(<unk>|h) = 1/2 * 1/8 = 1/16.

Pruned with --prune 0 1 (bigrams seen once dropped, discounts unchanged): each context keeps its count-2
continuation, u = 1/3, and gamma = (D2 * 1 + 1 pruned) / 3 = 2/3: p(a|<s>) = 1/3 + 2/3 * 7/24 = 19/36 and
p(b|<s>) = 2/3 * 7/24 = 7/36.
"""

from __future__ import annotations

import math
from pathlib import Path

HAND_CORPUS = ["a b", "a b", "b a"]
HAND_PROBS = {
    ("<s>", "a"): 23 / 48,
    ("a", "b"): 23 / 48,
    ("b", "</s>"): 23 / 48,
    ("<s>", "b"): 15 / 48,
    ("a", "</s>"): 15 / 48,
    ("b", "a"): 15 / 48,
    ("a", "a"): 7 / 48,
    ("<s>", "</s>"): 7 / 48,
    ("<s>", "<unk>"): 1 / 16,
}
PRUNED_PROBS = {("<s>", "a"): 19 / 36, ("<s>", "b"): 7 / 36, ("a", "b"): 19 / 36, ("a", "a"): 7 / 36}


def hand_arpa() -> str:
    """The unpruned model above as an ARPA file, written from the fractions (not by thresher)."""
    uni = math.log10(7 / 24)
    half = math.log10(0.5)
    lines = [
        "\\data\\",
        "ngram 1=5",
        "ngram 2=6",
        "",
        "\\1-grams:",
        f"{math.log10(1 / 8):.7f}\t<unk>",
        f"-99\t<s>\t{half:.7f}",
        f"{uni:.7f}\t</s>",
        f"{uni:.7f}\ta\t{half:.7f}",
        f"{uni:.7f}\tb\t{half:.7f}",
        "",
        "\\2-grams:",
        f"{math.log10(23 / 48):.7f}\t<s> a",
        f"{math.log10(15 / 48):.7f}\t<s> b",
        f"{math.log10(23 / 48):.7f}\ta b",
        f"{math.log10(15 / 48):.7f}\ta </s>",
        f"{math.log10(15 / 48):.7f}\tb a",
        f"{math.log10(23 / 48):.7f}\tb </s>",
        "",
        "\\end\\",
    ]
    return "\n".join(lines) + "\n"


def conditional_log10(model, context: list[str], word: str) -> float:
    """log10 p(word | context) from a kenlm.Model through its state API (context may start with <s>)."""
    import kenlm

    state, out = kenlm.State(), kenlm.State()
    words = list(context)
    if words and words[0] == "<s>":
        model.BeginSentenceWrite(state)
        words = words[1:]
    else:
        model.NullContextWrite(state)
    for w in words:
        model.BaseScore(state, w, out)
        state, out = out, state
    return model.BaseScore(state, word, out)


def arpa_unigrams(path) -> list[str]:
    """The words of an ARPA file's 1-gram section."""
    words, inside = [], False
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line == "\\1-grams:":
            inside = True
        elif inside and line.startswith("\\"):
            break
        elif inside and line:
            words.append(line.split("\t")[1])
    return words
