"""Word splitting for the quality rules.

`AffixSplitter` splits text the way spaCy's rule-based tokenizer does, which is what the reference
implementations of the Gopher / C4 / FineWeb rules count words with: the text is cut at whitespace, then
punctuation is peeled off each piece as prefixes and suffixes (with context rules: a period after a lowercase
letter or a digit is split, one after a single capital is not), pieces are split inside at hyphens, slashes and
the like between letters, URLs stay whole, and special cases (English contractions and abbreviations) win over
all of that. Results are cached per piece: web text repeats the same pieces over and over.

For languages written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese), runs of those scripts count
one word per character (with its combining marks); Tibetan, whose syllables are separated by a tsheg, one word per
syllable (with its tsheg, as FineWeb-2's Tibetan tokenizer writes its words); other runs are split as above.

Some languages' words are cut the way FineWeb-2's tokenizer for that language cuts them, where the plain rules
would miss its stop words or count clitics as non-words: French and the languages FineWeb-2 splits with spaCy's
French rules split after an elided article ("l'homme" -> "l'", "homme"); Maltese keeps its article's hyphen and
an elision's apostrophe on the clitic ("tal-bniedem" -> "tal-", "bniedem"; "ta'" stays whole), as Stanza's
Maltese model does. Outside English, the Ethiopic wordspace `፡` separates words like a space, and Ethiopic
punctuation (`። ፣ ፤ ...`) is split off as spaCy's Amharic rules do.

Splitters intern tokens into a `TokenTable` and return token ids, so that the rule stages work on integer
arrays with numpy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from itertools import chain
from typing import Protocol

import numpy as np

from thresher.text.chars import token_flags
from thresher.text.english import english_special_cases
from thresher.text.langcodes import macrolanguage, parse, preferred
from thresher.text.segmenters import segmenter, segmenter_name

_DIGITS = frozenset("0123456789")
_PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"
_QUOTES = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉\u2329\u232a⟦⟧"
_CURRENCY = frozenset("$£€¥฿₽﷼₴" + "".join(chr(c) for c in range(0x20A0, 0x20C0)))
_PREFIX_CHARS = frozenset("§%=—–" + _PUNCT + _QUOTES) | _CURRENCY
_SUFFIX_CHARS = frozenset(_PUNCT + _QUOTES + "—–")
# Characters after which a final period is split off: digits, %, ², -, +, punctuation, quotes ('|', '(', '?', ':'
# are part of the reference's class too).
_BEFORE_SPLIT_PERIOD = frozenset("0123456789%²-+|(?:" + _PUNCT + _QUOTES)
_UNITS = frozenset(
    (  # noqa: SIM905
        "km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz m/s km/h kmh mph "
        "hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % км км² км³ м м² м³ дм дм² дм³ см см² см³ мм мм² мм³ нм кг г "
        "мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб ТБ"
    ).split()
)
_AFTER_DIGIT = _UNITS | {"US$", "C$", "A$", "+"} | _CURRENCY
_LONGEST_TAIL = 4
_HYPHENS = ("-", "–", "—", "--", "---", "——", "~")
_INFIX_AFTER_WORD = frozenset(":<>=/")
_URL_LABEL = r"[A-Za-z0-9\u00a1-\uffff]"
_URL = re.compile(
    r"^(?:[\w+\-.]{2,}://)?"
    r"(?:\S+(?::\S*)?@)?"
    r"(?:(?:\d{1,3}\.){3}\d{1,3}"
    rf"|(?:(?:{_URL_LABEL}[A-Za-z0-9\u00a1-\uffff_-]{{0,62}})?{_URL_LABEL}\.)+(?P<tld>[^\s./?#:@]{{2,63}}))"
    r"(?::\d{2,5})?(?:[/?#]\S*)?$"
)
_URL_NO_AUTH = re.compile(_URL.pattern.replace(r"(?:\S+(?::\S*)?@)?", ""))
# Longer pieces are not matched as URLs (the pattern backtracks badly on them) and not cached.
_MAX_URL = 2048
_MAX_CACHED = 64
_CACHE_ENTRIES = 300_000
# Longer pieces (URLs, mostly) in a cache of their own, fewer of them: they are slow to split and web text repeats
# them (site links), but a bound on the main cache's entries would not bound its memory with them.
_MAX_LONG_CACHED = _MAX_URL
_LONG_CACHE_ENTRIES = 10_000
_MAX_TOKENS = 1_000_000

# Ethiopic: the wordspace separates words (older and formal text writes it instead of spaces); the other marks are
# punctuation (spaCy's Amharic rules list them).
_ETHIOPIC_WORDSPACE = "\u1361"
_ETHIOPIC_PUNCTUATION = re.compile("([\u1360\u1362-\u1368])")
_ETHIOPIC_MARKS = re.compile("[\u1360-\u1368]")
# French elision: a letter and an apostrophe before a letter end a token (spaCy's French infix rule).
_ELISION = re.compile(r"(?<=[^\W\d_]['’])(?=[^\W\d_])")
# Words spaCy's French exceptions keep whole.
_ELISION_EXCEPTIONS = frozenset(
    {"aujourd'hui", "Aujourd'hui", "aujourd’hui", "Aujourd’hui", "prud'homme", "prud’homme"}
)
# Languages whose FineWeb-2 tokenizer is spaCy's French one (datatrove's tokenizer assignments; ISO 639-1 where
# one exists, as `base_language` writes them).
_FRENCH_RULES = frozenset({"fr", "wa", "rm", "frp", "fur", "lld", "nrf", "nrm", "pcd"})
_MALTESE_CLITIC_MARKS = ("-", "'", "’")


def _is_symbol(c: str) -> bool:
    return unicodedata.category(c) == "So"


# Letters as the reference's rules see them: the Latin letters, the basic Greek and Cyrillic ones, and whole blocks of
# the scripts without case (Arabic, Hebrew, Indic, Ethiopic, Hangul, Kana, CJK; marks included), which count as
# both lowercase and uppercase. Letters of other scripts (Georgian, Armenian, Thai, ...) are not letters here.
_CASED_LETTERS = frozenset(
    "".join(
        chr(c)
        for lo, hi in (
            (0x0041, 0x005A),
            (0x0061, 0x007A),
            (0x00C0, 0x00D6),
            (0x00D8, 0x00F6),
            (0x00F8, 0x024F),
            (0x0250, 0x02AF),
            (0x1D00, 0x1D25),
            (0x1D6B, 0x1D77),
            (0x1D79, 0x1D9A),
            (0x1E00, 0x1EFF),
            (0x2C60, 0x2C7B),
            (0x2C7E, 0x2C7F),
            (0xA722, 0xA76F),
            (0xA771, 0xA787),
            (0xA78B, 0xA78E),
            (0xA790, 0xA7B9),
            (0xAB30, 0xAB5A),
            (0xAB60, 0xAB64),
            (0xFF21, 0xFF3A),
            (0xFF41, 0xFF5A),
            (0x0391, 0x03A9),
            (0x03B1, 0x03C9),
            (0x0410, 0x044F),
        )
        for c in range(lo, hi + 1)
    )
    + "\ua7fa"
    + "άέίόώήύΆΈΊΌΏΉΎ"
    + "ёЁіїєґІЇЄҐѓѕјљњќѐѝЃЅЈЉЊЌЀЍәөүҗңһӘӨҮҖҢҺ"
)
_UNCASED_SCRIPTS = (
    (0x0591, 0x05F4),
    (0x0620, 0x064A),
    (0x066E, 0x06D5),
    (0x06E5, 0x06FF),
    (0x0750, 0x077F),
    (0x08A0, 0x08BD),
    (0x0900, 0x097F),
    (0x0980, 0x09FF),
    (0x0B80, 0x0BFF),
    (0x0C00, 0x0C7F),
    (0x0C80, 0x0CFF),
    (0x0D80, 0x0DFF),
    (0x1100, 0x11FF),
    (0x1200, 0x137F),
    (0x2E80, 0x2FDF),
    (0x2FF0, 0x303F),
    (0x3040, 0x30FF),
    (0x31C0, 0x31EF),
    (0x3200, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFB1D, 0xFB4F),
    (0xFB50, 0xFDFB),
    (0xFE30, 0xFE4F),
    (0xFE70, 0xFEFC),
    (0x1EE00, 0x1EEBB),
    (0x1F200, 0x1F2FF),
    (0x20000, 0x2FA1F),
)
_ALPHA, _LOWER, _UPPER = 1, 2, 4


@lru_cache(maxsize=65536)
def _letter_class(c: str) -> int:
    code = ord(c)
    if any(a <= code <= b for a, b in _UNCASED_SCRIPTS):
        return _ALPHA | _LOWER | _UPPER
    if c not in _CASED_LETTERS or not c.isalpha():
        return 0
    return _ALPHA | (_LOWER if c.islower() else 0) | (_UPPER if c.isupper() else 0)


def _is_alpha(c: str) -> bool:
    return bool(c) and bool(_letter_class(c) & _ALPHA)


def _lower_like(c: str) -> bool:
    return bool(c) and bool(_letter_class(c) & _LOWER)


def _upper_like(c: str) -> bool:
    return bool(c) and bool(_letter_class(c) & _UPPER)


class TokenTable:
    """The distinct tokens a splitter produced, interned: id -> string, length and `token_flags`.

    Documents become arrays of token ids, so word statistics are numpy gathers over these tables. A splitter
    replaces its table (and piece cache) with an empty one when it grows past `_MAX_TOKENS`; arrays taken
    from the old table stay valid, as does the old table for whoever holds it."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.strings: list[str] = []
        self._lengths = np.zeros(4096, dtype=np.int64)
        self._flags = np.zeros(4096, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.strings)

    def intern(self, token: str) -> int:
        found = self.ids.get(token)
        if found is not None:
            return found
        index = len(self.strings)
        if index == len(self._lengths):
            self._lengths = np.concatenate([self._lengths, np.zeros_like(self._lengths)])
            self._flags = np.concatenate([self._flags, np.zeros_like(self._flags)])
        self.ids[token] = index
        self.strings.append(token)
        self._lengths[index] = len(token)
        self._flags[index] = token_flags(token)
        return index

    @property
    def lengths(self) -> np.ndarray:
        return self._lengths

    @property
    def flags(self) -> np.ndarray:
        return self._flags


class WordSplitter(Protocol):
    name: str

    @property
    def table(self) -> TokenTable: ...

    def split(self, text: str) -> list[str]: ...

    def split_ids(self, text: str) -> list[int]: ...

    def split_pieces(self, pieces: list[str]) -> list[tuple[int, ...]]: ...


class AffixSplitter:
    """spaCy-compatible rule-based splitting (see the module docstring). With `unsegmented`, runs of the scripts
    written without spaces are further split into one word per character."""

    def __init__(
        self,
        name: str,
        special_cases: Mapping[str, tuple[str, ...]],
        unsegmented: bool = False,
        segment: Callable[[str], list[str]] | None = None,
        clitics: str | None = None,
        ethiopic: bool = False,
        segment_hangul: bool = False,
    ) -> None:
        self.name = name
        # Language-specific clitic handling: "elision" (French rules) or "maltese".
        self._clitics = clitics
        # Whether the Ethiopic wordspace separates words and Ethiopic punctuation is split off.
        self._ethiopic = ethiopic
        # A dictionary segmenter for runs of the scripts written without spaces (else one word per character), or
        # Korean's morpheme splitter for Hangul (`segment_hangul`).
        self._segment = segment
        self._segment_start = _hangul_start() if segment_hangul else _unsegmented_start()
        self._special = dict(special_cases)
        self._longest_special = max((len(k) for k in self._special), default=0)
        # Special cases that the plain rules would split; only these are looked for among a piece's tokens.
        self._splittable = frozenset(
            k for k in self._special if _prefix_length(k, 0, len(k)) or _suffix_length(k, 0, len(k)) or _infixes(k)
        )
        self._characters = _unsegmented_pattern() if unsegmented else None
        self._plain: dict[str, list[str]] = {}
        self.table = TokenTable()
        self._cache: dict[str, tuple[int, ...]] = {}
        self._long_cache: dict[str, tuple[int, ...]] = {}

    def split(self, text: str) -> list[str]:
        ids = self.split_ids(text)
        strings = self.table.strings
        return [strings[i] for i in ids]

    def split_ids(self, text: str) -> list[int]:
        """Token ids (into `self.table`) of `text`."""
        return list(chain.from_iterable(self.split_pieces(text.split())))

    def split_pieces(self, pieces: list[str]) -> list[tuple[int, ...]]:
        """The token ids of each whitespace-free piece of one document (`text.split()`)."""
        # Bound memory only here, between documents, so that one document's ids all come from one table.
        if len(self.table) > _MAX_TOKENS:
            self.table = TokenTable()
            self._cache.clear()
            self._long_cache.clear()
        cache = self._cache
        found = list(map(cache.get, pieces))
        # all() tests truth only; `None in found` compares every tuple with None, and costs more than the lookups.
        if not all(found):
            # Look again: a piece new to the cache may occur twice in the document.
            found = [
                ids if ids is not None else cache.get(p) or self._piece_ids(p)
                for ids, p in zip(found, pieces, strict=True)
            ]
        return found  # type: ignore[return-value]

    def _piece_ids(self, piece: str) -> tuple[int, ...]:
        size = len(piece)
        if _MAX_CACHED < size <= _MAX_LONG_CACHED:
            found = self._long_cache.get(piece)
            if found is not None:
                return found
        intern = self.table.intern
        ids = tuple(intern(token) for token in self.split_piece(piece))
        if size <= _MAX_CACHED:
            if len(self._cache) >= _CACHE_ENTRIES:
                self._cache.clear()
            self._cache[piece] = ids
        elif size <= _MAX_LONG_CACHED:
            if len(self._long_cache) >= _LONG_CACHE_ENTRIES:
                self._long_cache.clear()
            self._long_cache[piece] = ids
        return ids

    def split_piece(self, s: str) -> tuple[str, ...]:
        """The tokens of one whitespace-free piece of text."""
        if self._ethiopic and _ETHIOPIC_MARKS.search(s):
            parts = (p for word in s.split(_ETHIOPIC_WORDSPACE) for p in _ETHIOPIC_PUNCTUATION.split(word))
            return tuple(token for part in parts if part for token in self._split_plain_piece(part))
        return self._split_plain_piece(s)

    def _split_plain_piece(self, s: str) -> tuple[str, ...]:
        special = self._special.get(s)
        if special is not None:
            tokens = list(special)
        elif s.isalpha():
            # Letters only: no prefix, suffix or infix rule can apply.
            tokens = [s]
        else:
            tokens = self._affix_split(s, with_special=True)
            if self._splittable and len(tokens) > 1:
                tokens = self._merge_special_spans(tokens)
        if self._clitics == "elision":
            tokens = _split_elisions(tokens)
        elif self._clitics == "maltese" and len(tokens) > 1:
            tokens = _attach_maltese_clitics(tokens)
        if self._segment is not None:
            tokens = [word for token in tokens for word in self._segmented(token)]
        elif self._characters is not None:
            tokens = [part for token in tokens for part in self._characters.findall(token)]
        return tuple(tokens)

    def _segmented(self, token: str) -> list[str]:
        # The whole token goes to the segmenter (it also splits the punctuation and Latin inside a sentence).
        if not self._segment_start.search(token):
            return [token]
        return [word for word in self._segment(token) if word.strip()]  # type: ignore[misc]

    def _affix_split(self, s: str, with_special: bool) -> list[str]:
        special = self._special if with_special else {}
        longest = self._longest_special

        def is_special(start: int, end: int) -> bool:
            return 0 < end - start <= longest and s[start:end] in special

        prefixes: list[str] = []
        suffixes: list[str] = []
        start, end = 0, len(s)
        last = -1
        while start < end and end - start != last:
            if is_special(start, end):
                break
            last = end - start
            pre = _prefix_length(s, start, end)
            if pre and is_special(start + pre, end):
                prefixes.append(s[start : start + pre])
                start += pre
                break
            suf = _suffix_length(s, start + pre, end)
            if suf and is_special(start, end - suf):
                suffixes.append(s[end - suf : end])
                end -= suf
                break
            if pre and suf and pre + suf <= end - start:
                prefixes.append(s[start : start + pre])
                suffixes.append(s[end - suf : end])
                start, end = start + pre, end - suf
            elif pre:
                prefixes.append(s[start : start + pre])
                start += pre
            elif suf:
                suffixes.append(s[end - suf : end])
                end -= suf
        tokens = prefixes
        if start < end:
            core = s[start:end]
            tokens.extend(special[core] if core in special else _split_core(core))
        tokens.extend(reversed(suffixes))
        return tokens

    def _merge_special_spans(self, tokens: list[str]) -> list[str]:
        """Runs of tokens that spell a special case as the plain rules split it (")" + ":" -> "):", "a" + "."
        -> "a.") become the special case's tokens; longer runs first, then leftmost."""
        spans: list[tuple[int, int]] = []
        for i in range(len(tokens)):
            text = ""
            for j in range(i, len(tokens)):
                text += tokens[j]
                if len(text) > self._longest_special:
                    break
                if text in self._splittable and tokens[i : j + 1] == self._plain_split(text):
                    spans.append((i, j + 1))
        if not spans:
            return tokens
        spans.sort(key=lambda span: (span[0] - span[1], span[0]))
        seen: set[int] = set()
        chosen: dict[int, int] = {}
        for start, end in spans:
            if start not in seen and end - 1 not in seen:
                chosen[start] = end
            seen.update(range(start, end))
        merged: list[str] = []
        i = 0
        while i < len(tokens):
            if i in chosen:
                end = chosen[i]
                merged.extend(self._special["".join(tokens[i:end])])
                i = end
            else:
                merged.append(tokens[i])
                i += 1
        return merged

    def _plain_split(self, special: str) -> list[str]:
        cached = self._plain.get(special)
        if cached is None:
            cached = self._affix_split(special, with_special=False)
            self._plain[special] = cached
        return cached


def _split_elisions(tokens: list[str]) -> list[str]:
    """French rules: "l'homme" -> "l'", "homme"; "qu'il" -> "qu'", "il" (spaCy's exceptions such as "aujourd'hui"
    stay whole)."""
    if not any("'" in t or "’" in t for t in tokens):
        return tokens
    out: list[str] = []
    for token in tokens:
        if ("'" in token or "’" in token) and token not in _ELISION_EXCEPTIONS:
            out.extend(part for part in _ELISION.split(token) if part)
        else:
            out.append(token)
    return out


def _attach_maltese_clitics(tokens: list[str]) -> list[str]:
    """Maltese: the article's hyphen and an elision's apostrophe stay on the word before them ("tal" "-" "bniedem"
    -> "tal-" "bniedem"; "ta" "'" -> "ta'"), so clitics are words with letters, as Stanza's Maltese model cuts
    them. A hyphen is attached only between two words (not a dash at the end of a piece)."""
    out: list[str] = []
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        if (
            out
            and token in _MALTESE_CLITIC_MARKS
            and out[-1][-1].isalpha()
            and (token != "-" or (i < last and tokens[i + 1][:1].isalpha()))
        ):
            out[-1] += token
        else:
            out.append(token)
    return out


def _split_core(core: str) -> list[str]:
    """Split what is left after peeling off prefixes and suffixes: URLs stay whole, else split at infixes."""
    if _is_url(core):
        return [core]
    tokens: list[str] = []
    start = 0
    for infix_start, infix_end in _infixes(core):
        if infix_start == 0:
            continue
        if infix_start != start:
            tokens.append(core[start:infix_start])
        tokens.append(core[infix_start:infix_end])
        start = infix_end
    if start < len(core):
        tokens.append(core[start:])
    return tokens


def _prefix_length(s: str, start: int, end: int) -> int:
    c = s[start]
    if c in _PREFIX_CHARS:
        return 1
    if c == "+":
        return 0 if start + 1 < end and s[start + 1] in _DIGITS else 1
    if c == "." and start + 1 < end and s[start + 1] == ".":
        i = start + 2
        while i < end and s[i] == ".":
            i += 1
        return i - start
    if c == "U" and s.startswith("US$", start, end):
        return 3
    if c in "CA" and start + 1 < end and s[start + 1] == "$":
        return 2
    return 1 if _is_symbol(c) else 0


def _suffix_length(s: str, start: int, end: int) -> int:
    """Length of the suffix to peel off s[start:end]: the alternative that starts leftmost wins."""
    if end - start >= 2 and s[end - 1] == "." and s[end - 2] == ".":
        i = end - 2
        while i > start and s[i - 1] == ".":
            i -= 1
        return end - i
    for i in range(max(start, end - _LONGEST_TAIL), end):
        if _suffix_at(s, start, i, end):
            return end - i
    return 0


def _suffix_at(s: str, start: int, i: int, end: int) -> bool:
    # Look-behind stops at `start`: what was peeled off before is no longer part of the piece.
    tail = s[i:end]
    before = s[i - 1] if i > start else ""
    if before and before in _DIGITS and tail in _AFTER_DIGIT:
        return True
    if len(tail) == 2:
        return tail in ("'s", "'S", "’s", "’S", "……")
    if len(tail) != 1:
        return False
    if tail in _SUFFIX_CHARS or _is_symbol(tail):
        return True
    if tail != "." or not before:
        return False
    if before in _BEFORE_SPLIT_PERIOD or _lower_like(before):
        return True
    before2 = s[i - 2] if i - 2 >= start else ""
    if before2 == "°" and before in "FfCcKk":
        return True
    return _upper_like(before) and _upper_like(before2)


# Characters an infix can start with; non-ASCII ones are checked one by one (symbols of category So).
_INFIX_START = re.compile(r"[.,+\-*^~:<>=/]|[^\x00-\x7f]")


def _infixes(s: str) -> list[tuple[int, int]]:
    """(start, end) of the infixes of s, left to right, not overlapping."""
    found: list[tuple[int, int]] = []
    n = len(s)
    resume = 0
    for candidate in _INFIX_START.finditer(s):
        i = candidate.start()
        if i < resume:
            continue
        end = _infix_end(s, i, n)
        if end:
            found.append((i, end))
            resume = end
    return found


def _infix_end(s: str, i: int, n: int) -> int:
    c = s[i]
    if c == "." and i + 1 < n and s[i + 1] == ".":
        j = i + 2
        while j < n and s[j] == ".":
            j += 1
        return j
    if c == "…" or _is_symbol(c):
        return i + 1
    if i == 0:
        return 0
    before = s[i - 1]
    after = s[i + 1] if i + 1 < n else ""
    if before in _DIGITS and c in "+-*^" and (after in _DIGITS or after == "-") and after:
        return i + 1
    if c == "." and (_lower_like(before) or before in _QUOTES) and (_upper_like(after) or after in _QUOTES):
        return i + 1
    if c == "," and _is_alpha(before) and _is_alpha(after):
        return i + 1
    if _is_alpha(before) or before in _DIGITS:
        for hyphen in _HYPHENS:
            if s.startswith(hyphen, i) and _is_alpha(s[i + len(hyphen) : i + len(hyphen) + 1]):
                return i + len(hyphen)
        if c in _INFIX_AFTER_WORD and _is_alpha(after):
            return i + 1
    return 0


def _is_url(s: str) -> bool:
    if "." not in s or len(s) > _MAX_URL:
        return False
    match = (_URL if "@" in s else _URL_NO_AUTH).match(s)
    if match is None:
        return False
    tld = match.group("tld")
    return tld is None or all(_lower_like(c) for c in tld)


# Scripts written without spaces between words, and the combining marks that belong to their letters.
_UNSEGMENTED_RANGES = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x2FFFF),  # CJK extensions B-F
)


@lru_cache(maxsize=1)
def _unsegmented_pattern() -> re.Pattern[str]:
    letters = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in _UNSEGMENTED_RANGES)
    marks = "".join(
        f"\\U{c:08x}"
        for a, b in _UNSEGMENTED_RANGES
        for c in range(a, b + 1)
        if unicodedata.category(chr(c)) in ("Mn", "Mc")
    )
    # A Tibetan syllable: its letters and marks up to and including the tsheg (or non-breaking tsheg) after it.
    tibetan = "\u0f40-\u0f6c\u0f71-\u0f84\u0f86\u0f87\u0f88-\u0fbc"
    return re.compile(f"[{tibetan}]+[\u0f0b\u0f0c]?|[{letters}][{marks}]*|[^{letters}]+")


@lru_cache(maxsize=1)
def _hangul_start() -> re.Pattern[str]:
    return re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]")


@lru_cache(maxsize=1)
def _unsegmented_start() -> re.Pattern[str]:
    letters = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in _UNSEGMENTED_RANGES)
    return re.compile(f"[{letters}]")


UNSEGMENTED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu"})
# ISO 15924 scripts written without spaces between words.
UNSEGMENTED_SCRIPTS = frozenset(
    {"Hani", "Hans", "Hant", "Jpan", "Hira", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt"}
)


def base_language(language: str) -> str:
    """'en', 'eng', 'eng_Latn', 'en-US' -> 'en': ISO 639-1 where one exists, else that of the macrolanguage
    ('cmn' -> 'zh', 'arz' -> 'ar'), else ISO 639-3; without script or region (see `thresher.text.langcodes`)."""
    code = parse(language)
    if code.iso1 is None:
        macro = macrolanguage(code.iso3)
        if macro is not None:
            return preferred(macro)
    return code.preferred


def is_unsegmented(language: str) -> bool:
    """Whether the language is written without spaces between words ('zh', 'cmn_Hani', 'th', 'lo', ...)."""
    return base_language(language) in UNSEGMENTED_LANGUAGES or parse(language).default_script in UNSEGMENTED_SCRIPTS


# How languages written without spaces are split into words: 'characters' (one word per character) or
# 'dictionary' (the segmenters of `thresher.text.segmenters` where one exists, else one word per character).
# 'dictionary' also splits Korean into Kiwi's morphemes (FineWeb-2's Korean words); 'characters' leaves Korean
# split at spaces and punctuation.
SEGMENTATIONS = ("characters", "dictionary")


@cache
def word_splitter(language: str, segmentation: str = "characters") -> WordSplitter:
    """The splitter for a language code; one instance (and cache) per kind per process."""
    if is_unsegmented(language):
        name = segmenter_name(language) if segmentation == "dictionary" else None
        return _splitter(f"dictionary:{name}") if name else _splitter("unsegmented")
    base = base_language(language)
    if segmentation == "dictionary" and segmenter_name(language) == "ko":
        return _splitter("dictionary:ko")
    if base == "en":
        return _splitter("en")
    if base in _FRENCH_RULES:
        return _splitter("elision")
    return _splitter("maltese" if base == "mt" else "generic")


@cache
def _splitter(kind: str) -> AffixSplitter:
    if kind == "en":
        return AffixSplitter(kind, english_special_cases())
    if kind == "dictionary:ko":
        return AffixSplitter(kind, {}, segment=segmenter("ko"), ethiopic=True, segment_hangul=True)
    if kind.startswith("dictionary:"):
        segment = segmenter(kind.removeprefix("dictionary:"))
        return AffixSplitter(kind, {}, unsegmented=True, segment=segment, ethiopic=True)
    clitics = kind if kind in ("elision", "maltese") else None
    return AffixSplitter(kind, {}, unsegmented=kind == "unsegmented", clitics=clitics, ethiopic=True)
