"""Language codes: ISO 639-1 ('fr'), ISO 639-3 ('fra') and `lang_Script` ('fra_Latn', as GlotLID and FineWeb-2 name
languages) in one place.

Every code a user or a model gives goes through `parse`, which accepts all of these spellings (also
`__label__fra_Latn`, 'fr-FR', 'zh-Hans', ISO 639-2/B 'fre', and lid.176's Wikipedia-style codes) and returns a
`LanguageCode`: the ISO 639-3 code, the script when the code named one, and the ISO 639-1 code where one exists.
The ISO tables come from the `iso639-lang` package (MIT, ~2 MB installed); the default script per language is
thresher's own table below (ISO 15924 codes, Latin for every language not listed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

LABEL_PREFIX = "__label__"

# How a code is written: 'iso1' = ISO 639-1 where one exists else 639-3 (what lid.176 reports), 'iso3' = ISO 639-3,
# 'lang_script' = '<639-3>_<Script>' (GlotLID / FineWeb-2).
CodeStyle = Literal["iso1", "iso3", "lang_script"]
CODE_STYLES: tuple[str, ...] = ("iso1", "iso3", "lang_script")

# lid.176 is trained on Wikipedia and uses Wikipedia's codes; these differ from ISO 639 (or are deprecated there).
_WIKIPEDIA_CODES = {
    "als": "gsw",  # Alemannic (ISO 'als' is Tosk Albanian)
    "sh": "hbs",  # Serbo-Croatian (deprecated ISO 639-1)
    "bh": "bih",  # Bihari (deprecated ISO 639-1)
    "eml": "egl",  # Emiliano-Romagnolo (retired; split into Emilian 'egl' and Romagnol 'rgn')
    "mo": "ron",  # Moldovan (deprecated)
    "iw": "heb",
    "in": "ind",
    "ji": "yid",
    "jw": "jav",
    "nah": "nah",  # Nahuatl languages (a collective ISO 639-5 code)
}

# ISO 15924 script -> ISO 639-3 codes of languages usually written in it (languages not listed: Latin).
_SCRIPT_LANGUAGES = (
    (
        "Cyrl",
        "rus ukr bel bul mkd srp kaz kir tgk mon khk bak tat chv sah tyv krc kbd ady che inh oss udm kom koi kpv mhr "
        "mrj myv mdf lez ava dar lbe tab abk bua xal alt kjh rue cnr",
    ),
    (
        "Arab",
        "ara arb ary arz apc acm ajp aeb afb ars acq ayl arq fas pes prs urd pus pbt pst snd ckb uig azb mzn glk lrc "
        "bal bcc skr pnb kas ota bqi hnd",
    ),
    ("Deva", "hin mar nep npi san mai bho new awa mag hne gom kok brx dty doi"),
    ("Beng", "ben asm bpy mni"),
    ("Hebr", "heb yid ydd"),
    ("Hani", "zho cmn yue wuu gan hak nan cdo hsn lzh cjy"),
    ("Ethi", "amh tir tig gez byn sgw"),
    ("Thai", "tha sou"),
    ("Mymr", "mya shn ksw"),
    ("Tibt", "bod dzo"),
    ("Grek", "ell grc"),
    ("Geor", "kat xmf"),
    ("Cans", "iku ike"),
    ("Jpan", "jpn"),
    ("Hang", "kor"),
    ("Laoo", "lao"),
    ("Khmr", "khm"),
    ("Armn", "hye"),
    ("Taml", "tam"),
    ("Telu", "tel"),
    ("Knda", "kan"),
    ("Mlym", "mal"),
    ("Gujr", "guj"),
    ("Guru", "pan"),
    ("Orya", "ori ory"),
    ("Sinh", "sin"),
    ("Thaa", "div"),
    ("Syrc", "syr aii"),
    ("Olck", "sat"),
    ("Cher", "chr"),
    ("Nkoo", "nqo"),
    ("Tfng", "zgh"),
)
DEFAULT_SCRIPTS = {code: script for script, codes in _SCRIPT_LANGUAGES for code in codes.split()}

_SPLIT = re.compile(r"[_\-]")


@dataclass(frozen=True)
class LanguageCode:
    """One language: `iso3` is its ISO 639-3 code (or the given code lowercased when ISO 639 does not know it),
    `iso1` its ISO 639-1 code where one exists, `script` the script the code named (None when it named none)."""

    iso3: str
    iso1: str | None
    script: str | None
    known: bool

    @property
    def preferred(self) -> str:
        """ISO 639-1 where one exists, else ISO 639-3 (the convention of lid.176)."""
        return self.iso1 or self.iso3

    @property
    def default_script(self) -> str:
        """The script the code named, else the language's usual script."""
        return self.script or DEFAULT_SCRIPTS.get(self.iso3, "Latn")

    @property
    def lang_script(self) -> str:
        return f"{self.iso3}_{self.default_script}"

    def styled(self, style: str) -> str:
        if style == "iso1":
            return self.preferred
        if style == "iso3":
            return self.iso3
        if style == "lang_script":
            return self.lang_script
        raise ValueError(f"unknown language code style {style!r}; allowed: {', '.join(CODE_STYLES)}")


@cache
def parse(code: str) -> LanguageCode:
    """Any spelling of a language code -> `LanguageCode` ('fr', 'fra', 'fre', 'fra_Latn', '__label__fra_Latn',
    'fr-FR', 'zh-Hant'). Region subtags are dropped; a four-letter subtag is the script."""
    text = code.strip().removeprefix(LABEL_PREFIX)
    if not text:
        raise ValueError("empty language code")
    parts = _SPLIT.split(text)
    language = parts[0].lower()
    script = next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    language = _WIKIPEDIA_CODES.get(language, language)
    iso3, iso1 = _iso_codes(language)
    return LanguageCode(iso3=iso3 or language, iso1=iso1, script=script, known=iso3 is not None)


@cache
def _iso_codes(language: str) -> tuple[str | None, str | None]:
    """(ISO 639-3, ISO 639-1) of a two- or three-letter code; (None, None) when ISO 639 does not know it."""
    from iso639 import Lang
    from iso639.exceptions import DeprecatedLanguageValue, InvalidLanguageValue

    if not language.isascii() or not language.isalpha() or len(language) not in (2, 3):
        return None, None
    kinds = ("pt1",) if len(language) == 2 else ("pt3", "pt2b", "pt2t", "pt5")
    for kind in kinds:
        try:
            found = Lang(**{kind: language})
        except (InvalidLanguageValue, DeprecatedLanguageValue):
            continue
        return (found.pt3 or found.pt5 or found.pt2t or None), (found.pt1 or None)
    return None, None


def convert(code: str, style: str) -> str:
    """`code` written in `style` ('iso1', 'iso3' or 'lang_script')."""
    return parse(code).styled(style)


def preferred(code: str) -> str:
    """ISO 639-1 where one exists, else ISO 639-3: 'fra_Latn' -> 'fr', 'gsw' -> 'gsw'."""
    return parse(code).preferred


def iso3(code: str) -> str:
    return parse(code).iso3


@cache
def macrolanguage(code: str) -> str | None:
    """The ISO 639-3 macrolanguage an individual language belongs to ('arb' -> 'ara', 'cmn' -> 'zho'), else None."""
    from iso639 import Lang

    parsed = parse(code)
    if not parsed.known or len(parsed.iso3) != 3:
        return None
    try:
        macro = Lang(pt3=parsed.iso3).macro()
    except Exception:  # codes only ISO 639-5 knows (collective codes) have no macrolanguage
        return None
    return macro.pt3 if macro is not None else None


@cache
def individuals(code: str) -> tuple[str, ...]:
    """The ISO 639-3 individual languages of a macrolanguage ('zho' -> ('cdo', 'cjy', 'cmn', ...)), else ()."""
    from iso639 import Lang

    parsed = parse(code)
    if not parsed.known:
        return ()
    try:
        members = Lang(pt3=parsed.iso3).individuals()
    except Exception:  # collective codes
        return ()
    return tuple(sorted(m.pt3 for m in members))


def same_language(a: str, b: str) -> bool:
    """Whether two codes name the same language (scripts ignored): 'fr' == 'fra_Latn' == 'fre'."""
    return parse(a).iso3 == parse(b).iso3
