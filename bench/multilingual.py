"""Multilingual quality: language ID accuracy, retention of clean text and removal of raw web text per language,
and the speed of the multilingual rule pass against the English one.

    .venv/bin/python -m bench.multilingual [--doc-paragraphs 10] [--speed-docs 300]

- LID: lid.176 (the bundled model) on each UDHR paragraph of at least 40 characters, for the UDHR languages the
  model covers (its label, or its macrolanguage / one of its members, is a lid.176 label); a prediction is right
  when it names the same language or the same macrolanguage.
- Retention: every UDHR translation of a covered language, cut into documents of `--doc-paragraphs` consecutive
  paragraphs, through the row stages of conf/web_multi.yaml (language ID with FineWeb-2's per-language thresholds,
  Gopher repetition, FineWeb and Gopher quality with the fineweb2 preset). A language's retention is the share of
  its paragraphs in kept documents. Goal: >= 90% of the covered languages keep >= 90%.
- Removal: raw Common Crawl pages (dolma_cc_2019_30_raw.jsonl) through the same stages, per detected language:
  what is removed, and why.
- Speed: CPU seconds (this process only: the machine is shared) per document of the web_multi rule pass on the
  non-English raw CC pages, against the web_en rule pass on the English ones, and of Chinese/Japanese/Thai/Lao/
  Khmer UDHR documents with dictionary segmentation against one word per character (together and per segmenter).

Results: bench/results/multilingual.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from bench._common import RESULTS, ROOT, SHARED_DATA, write_result
from thresher.conf import load_config
from thresher.stages.base import RowStage
from thresher.stages.fused import run_row_stages
from thresher.stages.quality.language import Language, LanguageParams, _Model, bundled_model_path
from thresher.text.langcodes import macrolanguage, parse
from thresher.text.segmenters import segmenter_name
from thresher.text.words import _splitter, word_splitter


def _row_stages(config: str, overrides: dict[str, dict[str, Any]] | None = None) -> list[RowStage]:
    cfg = load_config(ROOT / "conf" / config)
    # pii rewrites, url_filter needs URLs, rehydrate needs minhash_dedup's clusters: none of them removes text here.
    skipped = ("pii", "url_filter", "rehydrate")
    stages = [s.stage for s in cfg.stages if isinstance(s.stage, RowStage) and s.id not in skipped]
    if overrides:
        rebuilt = []
        for stage in stages:
            params = stage.params.model_dump() | overrides.get(stage.id, {})
            rebuilt.append(type(stage)(type(stage.params).model_validate(params)))
        stages = rebuilt
    return stages


def _covered(model_labels: set[str], iso3: str) -> bool:
    related = {iso3, macrolanguage(iso3) or iso3}
    return bool(related & model_labels)


def _same_language(predicted: str, truth: str) -> bool:
    p, t = parse(predicted).iso3, parse(truth).iso3
    return (
        p == t
        or macrolanguage(t) == p
        or macrolanguage(p) == t
        or (macrolanguage(p) is not None and macrolanguage(p) == macrolanguage(t))
    )


def _udhr() -> list[dict[str, Any]]:
    path = SHARED_DATA / "multilingual" / "udhr_all.jsonl.gz"
    with gzip.open(path, "rt") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if r.get("iso6393") and r["iso6393"] != "und"]
    # Several translations may share a language code (dialects: 'French (Welche)'); keep the standard one (its
    # `code` is the language code) where there is one, else the first.
    by_language: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = by_language.get(row["iso6393"])
        if current is None or (row["code"] == row["iso6393"] and current["code"] != row["iso6393"]):
            by_language[row["iso6393"]] = row
    return list(by_language.values())


def lid_accuracy(translations: list[dict[str, Any]], model_labels: set[str]) -> dict[str, Any]:
    model = _Model(bundled_model_path())
    per_language: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in translations:
        iso3 = row["iso6393"]
        if not _covered(model_labels, iso3):
            continue
        paragraphs = [p for p in row["text"].split("\n") if len(p) >= 40]
        labels, _ = model.predict(paragraphs)
        counts = per_language[iso3]
        counts[0] += sum(label is not None and _same_language(label, iso3) for label in labels)
        counts[1] += len(paragraphs)
    accuracy = {lang: right / total for lang, (right, total) in per_language.items() if total}
    values = sorted(accuracy.values())
    return {
        "languages": len(accuracy),
        "paragraphs": sum(t for _, t in per_language.values()),
        "mean_accuracy": sum(values) / len(values),
        "median_accuracy": values[len(values) // 2],
        "languages_at_least_90pct": sum(v >= 0.9 for v in values),
        "per_language": dict(sorted(accuracy.items())),
    }


def _documents(row: dict[str, Any], size: int) -> list[tuple[str, int]]:
    paragraphs = [p for p in row["text"].split("\n") if p.strip()]
    chunks = [paragraphs[i : i + size] for i in range(0, len(paragraphs), size)]
    return [("\n".join(chunk), len(chunk)) for chunk in chunks]


def retention(translations: list[dict[str, Any]], model_labels: set[str], size: int) -> dict[str, Any]:
    stages = _row_stages("web_multi.yaml")
    kept: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    reasons: dict[str, Counter] = defaultdict(Counter)
    for row in translations:
        iso3 = row["iso6393"]
        if not _covered(model_labels, iso3):
            continue
        docs = _documents(row, size)
        out = run_row_stages(stages, [{"text": text} for text, _ in docs], mode="annotate")
        for (_, paragraphs), result in zip(docs, out, strict=True):
            reason = next((f"{s.id}:{result[s.id]['reason']}" for s in stages if not result[s.id]["keep"]), None)
            kept[iso3][1] += paragraphs
            if reason is None:
                kept[iso3][0] += paragraphs
            else:
                reasons[iso3][reason] += paragraphs
    share = {lang: k / t for lang, (k, t) in kept.items() if t}
    good = sum(v >= 0.9 for v in share.values())
    low = sorted((v, lang) for lang, v in share.items() if v < 0.9)
    return {
        "languages": len(share),
        "doc_paragraphs": size,
        "languages_keeping_90pct": good,
        "share_of_languages_keeping_90pct": good / len(share),
        "paragraphs_kept_share": sum(k for k, _ in kept.values()) / sum(t for _, t in kept.values()),
        "below_90pct": [
            {"lang": lang, "kept": round(v, 3), "reasons": dict(reasons[lang].most_common(3))} for v, lang in low
        ],
        "removal_reasons_overall": dict(sum(reasons.values(), Counter()).most_common(12)),
        "per_language": dict(sorted((k, round(v, 4)) for k, v in share.items())),
    }


def raw_cc_removal() -> dict[str, Any]:
    with open(SHARED_DATA / "dolma_cc_2019_30_raw.jsonl") as f:
        docs = [{"text": json.loads(line)["text"]} for line in f]
    docs = [d for d in docs if d["text"].strip()]
    stages = _row_stages("web_multi.yaml")
    out = run_row_stages(stages, docs, mode="annotate")
    per_language: dict[str, Counter] = defaultdict(Counter)
    for result in out:
        lang = result["language"]["lang"] or "none"
        reason = next((f"{s.id}:{result[s.id]['reason']}" for s in stages if not result[s.id]["keep"]), None)
        per_language[lang]["docs"] += 1
        per_language[lang]["removed"] += reason is not None
        if reason:
            per_language[lang][reason] += 1
    non_english = Counter()
    for lang, counts in per_language.items():
        if lang != "en":
            non_english["docs"] += counts["docs"]
            non_english["removed"] += counts["removed"]
    return {
        "documents": len(docs),
        "non_english_documents": non_english["docs"],
        "non_english_removed_share": non_english["removed"] / max(non_english["docs"], 1),
        "per_language": {
            lang: dict(c.most_common()) for lang, c in sorted(per_language.items(), key=lambda x: -x[1]["docs"])
        },
    }


def _cpu_seconds(stages: list[RowStage], docs: list[dict[str, Any]], repeats: int = 3, cold: bool = False) -> float:
    run_row_stages(stages, docs[:20], mode="annotate")  # warm caches and models
    best = float("inf")
    for _ in range(repeats):
        if cold:
            # New word splitters, without the pieces the previous repeat cached: otherwise every repeat after the
            # first skips the segmenter (the same text); the segmenters themselves stay loaded.
            word_splitter.cache_clear()
            _splitter.cache_clear()
        start = time.process_time()
        run_row_stages(stages, docs, mode="annotate")
        best = min(best, time.process_time() - start)
    return best


def speed(translations: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    with open(SHARED_DATA / "dolma_cc_2019_30_raw.jsonl") as f:
        docs = [{"text": json.loads(line)["text"]} for line in f]
    docs = [d for d in docs if d["text"].strip()]
    lid = Language(LanguageParams(threshold=0.0))
    langs = [r["language"]["lang"] for r in run_row_stages([lid], docs, mode="annotate")]
    english = [d for d, lang in zip(docs, langs, strict=True) if lang == "en"][:limit]
    other = [d for d, lang in zip(docs, langs, strict=True) if lang != "en"][:limit]
    en_stages = _row_stages("web_en.yaml")
    multi_stages = _row_stages("web_multi.yaml")
    en_seconds = _cpu_seconds(en_stages, english)
    multi_seconds = _cpu_seconds(multi_stages, other)
    en_chars = sum(len(d["text"]) for d in english)
    multi_chars = sum(len(d["text"]) for d in other)
    result: dict[str, Any] = {
        "english_docs": len(english),
        "multilingual_docs": len(other),
        "english_cpu_us_per_char": en_seconds / en_chars * 1e6,
        "multilingual_cpu_us_per_char": multi_seconds / multi_chars * 1e6,
    }
    result["multilingual_vs_english_per_char"] = (
        result["multilingual_cpu_us_per_char"] / result["english_cpu_us_per_char"]
    )
    # Segmentation: the same Chinese (all varieties), Japanese, Thai, Lao and Khmer UDHR paragraphs (one document
    # each) with dictionary segmenters vs one word per character, all together and per segmenter.
    by_segmenter: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in translations:
        name = segmenter_name(r["iso6393"])
        if name in (None, "ko"):  # Korean: morphemes vs spaces, not vs characters
            continue
        language = {"keep": True, "reason": None, "lang": parse(r["iso6393"]).preferred}
        by_segmenter[name] += [{"text": text, "language": language} for text, _ in _documents(r, 1)]
    unsegmented = [doc for docs in by_segmenter.values() for doc in docs]
    rule_ids = ("gopher_repetition", "fineweb_quality", "gopher_quality")
    by_mode: dict[str, Any] = {}
    per_segmenter: dict[str, dict[str, Any]] = {name: {"docs": len(docs)} for name, docs in by_segmenter.items()}
    for mode in ("characters", "dictionary"):
        overrides = {sid: {"segmentation": mode} for sid in rule_ids}
        try:
            stages = [s for s in _row_stages("web_multi.yaml", overrides) if s.id in rule_ids]
        except Exception as error:  # the multilingual extra is missing: say so in the result
            by_mode[mode] = f"unavailable: {error}"
            continue
        by_mode[mode] = _cpu_seconds(stages, unsegmented, cold=True)
        for name, docs in by_segmenter.items():
            per_segmenter[name][mode] = _cpu_seconds(stages, docs, cold=True)
    result["segmentation_docs"] = len(unsegmented)
    result["segmentation_cpu_seconds"] = by_mode
    if all(isinstance(v, float) for v in by_mode.values()):
        result["dictionary_vs_characters"] = by_mode["dictionary"] / by_mode["characters"]
        for entry in per_segmenter.values():
            entry["dictionary_vs_characters"] = entry["dictionary"] / entry["characters"]
    result["segmentation_per_segmenter"] = per_segmenter
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doc-paragraphs", type=int, default=30)
    parser.add_argument("--speed-docs", type=int, default=300)
    parser.add_argument("--skip", nargs="*", default=[], choices=["lid", "retention", "removal", "speed"])
    args = parser.parse_args(argv)
    translations = _udhr()
    model = _Model(bundled_model_path())
    model_labels = {parse(label.removeprefix("__label__")).iso3 for label in model._model.get_labels()}
    result: dict[str, Any] = {"udhr_translations": len(translations), "lid176_languages": len(model_labels)}
    if "lid" not in args.skip:
        result["lid"] = lid_accuracy(translations, model_labels)
        print(f"LID: {json.dumps({k: v for k, v in result['lid'].items() if k != 'per_language'})}")
    if "retention" not in args.skip:
        result["retention"] = retention(translations, model_labels, args.doc_paragraphs)
        r = result["retention"]
        print(
            f"retention: {r['languages_keeping_90pct']}/{r['languages']} languages keep >= 90% "
            f"({r['share_of_languages_keeping_90pct']:.1%}); paragraphs kept {r['paragraphs_kept_share']:.1%}"
        )
        print(f"  below 90%: {r['below_90pct']}")
    if "removal" not in args.skip:
        result["removal"] = raw_cc_removal()
        r = result["removal"]
        print(
            f"raw CC: {r['documents']} docs, non-English {r['non_english_documents']}, "
            f"removed {r['non_english_removed_share']:.1%}"
        )
        for lang, counts in list(r["per_language"].items())[:8]:
            print(f"  {lang}: {counts}")
    if "speed" not in args.skip:
        result["speed"] = speed(translations, args.speed_docs)
        print(f"speed: {json.dumps(result['speed'])}")
    # Sections skipped in this run keep their values from the previous one.
    previous = RESULTS / "multilingual.json"
    if previous.exists():
        result = {**json.loads(previous.read_text()), **result}
    print(write_result("multilingual", result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
