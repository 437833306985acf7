"""Language codes: ISO 639-1 / 639-3 / lang_Script in every spelling models and users write them."""

from __future__ import annotations

import pytest

from thresher.text.langcodes import (
    convert,
    individuals,
    iso3,
    macrolanguage,
    parse,
    preferred,
    same_language,
)
from thresher.text.words import base_language, is_unsegmented


@pytest.mark.parametrize(
    ("code", "iso3_code", "iso1_code", "script"),
    [
        ("fr", "fra", "fr", None),
        ("fra", "fra", "fr", None),
        ("fre", "fra", "fr", None),  # ISO 639-2/B
        ("fra_Latn", "fra", "fr", "Latn"),
        ("__label__fra_Latn", "fra", "fr", "Latn"),
        ("FR-fr", "fra", "fr", None),  # a region is not a script
        ("zh-Hant-TW", "zho", "zh", "Hant"),
        ("cmn_Hani", "cmn", None, "Hani"),
        ("srp_latn", "srp", "sr", "Latn"),
        ("gsw", "gsw", None, None),
        ("als", "gsw", None, None),  # lid.176 (Wikipedia) code for Alemannic, not ISO's Tosk Albanian
        ("sh", "hbs", None, None),  # deprecated ISO 639-1 Serbo-Croatian
        ("iw", "heb", "he", None),
        ("nah", "nah", None, None),  # an ISO 639-5 collective code
    ],
)
def test_parse(code: str, iso3_code: str, iso1_code: str | None, script: str | None) -> None:
    parsed = parse(code)
    assert (parsed.iso3, parsed.iso1, parsed.script) == (iso3_code, iso1_code, script)


def test_unknown_codes_are_kept_lowercased_and_marked_unknown() -> None:
    parsed = parse("XYZQ_Latn")
    assert (parsed.iso3, parsed.iso1, parsed.script, parsed.known) == ("xyzq", None, "Latn", False)
    assert parse("qqq").known is False
    assert parse("eng").known is True
    with pytest.raises(ValueError, match="empty"):
        parse("  ")


@pytest.mark.parametrize(
    ("code", "iso1", "iso3_code", "lang_script"),
    [
        ("en", "en", "eng", "eng_Latn"),
        ("ru", "ru", "rus", "rus_Cyrl"),
        ("ar", "ar", "ara", "ara_Arab"),
        ("zh", "zh", "zho", "zho_Hani"),
        ("ja", "ja", "jpn", "jpn_Jpan"),
        ("ko", "ko", "kor", "kor_Hang"),
        ("th", "th", "tha", "tha_Thai"),
        ("hi", "hi", "hin", "hin_Deva"),
        ("am", "am", "amh", "amh_Ethi"),
        ("el", "el", "ell", "ell_Grek"),
        ("he", "he", "heb", "heb_Hebr"),
        ("ka", "ka", "kat", "kat_Geor"),
        ("hy", "hy", "hye", "hye_Armn"),
        ("srp_Latn", "sr", "srp", "srp_Latn"),  # a named script wins over the default (Cyrillic)
        ("ceb", "ceb", "ceb", "ceb_Latn"),
        ("arz", "arz", "arz", "arz_Arab"),
    ],
)
def test_styles(code: str, iso1: str, iso3_code: str, lang_script: str) -> None:
    assert convert(code, "iso1") == preferred(code) == iso1
    assert convert(code, "iso3") == iso3(code) == iso3_code
    assert convert(code, "lang_script") == lang_script


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="iso1, iso3, lang_script"):
        convert("en", "bcp47")


def test_macrolanguages() -> None:
    assert macrolanguage("arb") == "ara"
    assert macrolanguage("cmn_Hani") == "zho"
    assert macrolanguage("nob") == "nor"
    assert macrolanguage("fra") is None
    assert macrolanguage("qqq") is None
    assert "cmn" in individuals("zh") and "yue" in individuals("zho")
    assert "arb" in individuals("ara")
    assert individuals("fra") == ()


def test_same_language_across_spellings() -> None:
    assert same_language("fr", "fra_Latn") and same_language("__label__fra_Latn", "fre")
    assert not same_language("fr", "frr")


# lid.176's labels (fastText's published list).
LID176_LABELS = (
    "af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb ckb co cs "
    "cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom gu gv he hi hif hr "
    "hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw ky la lb lez li lmo lo lrc "
    "lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn nah nap nds ne new nl nn no oc or os pa "
    "pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg "
    "th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo wa war wuu xal xmf yi yo yue zh"
)


def test_every_lid176_label_maps_to_a_code() -> None:
    # lid.176's labels (fastText's published list); each becomes an ISO code or is kept as given.
    labels = LID176_LABELS.split()
    unknown = [label for label in labels if not parse(label).known]
    assert unknown == []
    # Two-letter labels keep their ISO 639-1 spelling (the interface: "as lid.176 reports").
    kept = [label for label in labels if len(label) == 2 and label not in ("sh", "bh")]
    assert all(preferred(label) == label for label in kept)


def test_base_language_and_unsegmented_scripts() -> None:
    assert base_language("eng_Latn") == "en" and base_language("en-US") == "en"
    # Without an ISO 639-1 code of its own, a language falls back to its macrolanguage's.
    assert base_language("cmn_Hani") == "zh" and base_language("arz") == "ar" and base_language("gsw") == "gsw"
    for code in ("zh", "cmn_Hani", "yue", "ja", "th", "tha_Thai", "lo", "km", "my", "bo", "zh-Hant"):
        assert is_unsegmented(code), code
    for code in ("en", "ru", "ar", "ko", "hi", "vi"):
        assert not is_unsegmented(code), code
