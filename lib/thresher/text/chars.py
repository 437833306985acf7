"""Character classes shared by the word splitter and the quality rules.

The sets are the ones the published rule implementations use (the Gopher, C4 and FineWeb rules as implemented
by datatrove, whose word splitter applies spaCy's English rules), so that thresher's decisions agree with theirs.
"""

from __future__ import annotations

import string
import unicodedata

# Characters that end a sentence (Unicode Sentence_Terminal): line-end punctuation for FineWeb, and the tokens
# after which the sentence splitter starts a new sentence.
SENTENCE_TERMINALS = frozenset(
    ".!?"
    "\u0589"  # Armenian full stop
    "\u061d\u061e\u061f\u06d4"  # Arabic
    "\u0700\u0701\u0702"  # Syriac
    "\u07f9"  # NKo
    "\u0837\u0839\u083d\u083e"  # Samaritan
    "\u0964\u0965"  # Devanagari danda, double danda
    "\u104a\u104b"  # Myanmar
    "\u1362\u1367\u1368"  # Ethiopic
    "\u166e"  # Canadian syllabics
    "\u1735\u1736"  # Philippine
    "\u17d4\u17d5\u17d6\u17d9\u17da"  # Khmer
    "\u1803\u1809"  # Mongolian
    "\u1944\u1945"  # Limbu
    "\u1aa8\u1aa9\u1aaa\u1aab"  # Tai Tham
    "\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e"  # Balinese
    "\u1c3b\u1c3c\u1c7e\u1c7f"  # Lepcha, Ol Chiki
    "\u203c\u203d\u2047\u2048\u2049"  # double marks, interrobang
    "\u2e2e\u2e3c\u2e53\u2e54"
    "\u3002"  # ideographic full stop
    "\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb"
    "\ufe52\ufe56\ufe57"  # small forms
    "\uff01\uff0e\uff1f\uff61"  # full-width and half-width forms
    "\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88\U00010f89"
    "\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143\U000111c5\U000111c6"
    "\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9\U0001144b\U0001144c\U000115c2"
    "\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2"
    "\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641\U00011642\U0001173c\U0001173d\U0001173e\U00011944"
    "\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42\U00011ef7\U00011ef8\U00011f43\U00011f44"
    "\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38\U00016b44\U00016e98\U0001bc9f\U0001da88"
)

# Tokens made only of these characters are "symbols", not words, for the Gopher word statistics: ASCII
# punctuation, the common typographic and CJK punctuation, C0/C1 control characters (tab and newline excluded),
# and every sentence terminal. (The full-width digit one is in the reference set too.)
GOPHER_SYMBOLS = (
    frozenset(
        string.punctuation
        + "\u2014\u2013\u201c\u201d\u201e\u2019\u00b4\u00ab\u00bb\u2026\u25ba\u2501\u2236"
        + "\uff05\uff11\uff08\uff09\uff0c\uff0e\uff1a\uff1b\uff1f\uff01\uff5e"
        + "\u3001\u3002\u300c\u300d\u3010\u3011\u300a\u300b\u3008\u3009"
        + "".join(chr(c) for c in (*range(0, 9), *range(11, 32), *range(127, 160)))
    )
    | SENTENCE_TERMINALS
)


def is_punctuation(token: str) -> bool:
    """Every character is Unicode punctuation (categories P*)."""
    return all(unicodedata.category(c)[0] == "P" for c in token)


# Bits of `token_flags`.
NOT_SYMBOL = 1  # has a character outside GOPHER_SYMBOLS (a "word" for the Gopher statistics)
HAS_ALPHA = 2  # has an alphabetic character
PUNCTUATION = 4  # every character is Unicode punctuation
TERMINAL = 8  # one sentence terminal character


def token_flags(token: str) -> int:
    flags = 0
    if any(c not in GOPHER_SYMBOLS for c in token):
        flags |= NOT_SYMBOL
    if any(c.isalpha() for c in token):
        flags |= HAS_ALPHA
    if is_punctuation(token):
        flags |= PUNCTUATION
    if token in SENTENCE_TERMINALS:
        flags |= TERMINAL
    return flags
