"""`thresher calibrate`: per-language thresholds and stop words from a reference corpus (FineWeb-2's method), as a
settings file the rule and language stages read with `preset: <file>`, plus a report of each language's
distributions.

The corpus is read with Spark; each document is scored by language ID and the Gopher repetition, FineWeb and
Gopher quality rules (annotate mode: signals only); Spark aggregates per language a quantile sketch of every
signal (199 quantiles, `percentile_approx`) and the words found in the most documents. Only those per-language
aggregates reach the driver, where `thresher.stages.quality._calibrate` turns them into thresholds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from thresher.errors import ConfigError

GRID = [round(q, 3) for q in np.linspace(0.005, 0.995, 199)]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="derive per-language thresholds from a reference corpus",
        description=(
            "Score a reference corpus (JSONL, one document per line) with language ID and the rule stages, and write "
            "per-language thresholds and stop words (a settings file for `preset:` on the language and rule "
            "stages) plus a report of each language's signal distributions."
        ),
    )
    parser.add_argument("--input", required=True, action="append", help="reference JSONL file(s) or glob(s)")
    parser.add_argument("--output", required=True, help="settings file to write (.json or .json.gz)")
    parser.add_argument("--report", help="distribution report (JSON); default: <output stem>.report.json")
    parser.add_argument("--text-field", default="text")
    parser.add_argument("--model-path", help="fastText language ID model (default: the bundled lid.176.ftz)")
    parser.add_argument("--method", choices=["english_rate", "tail"], default="english_rate")
    parser.add_argument("--tail", type=float, default=0.1, help="share removed per rule with --method tail")
    parser.add_argument("--min-documents", type=int, default=20, help="fewest documents to calibrate a language")
    parser.add_argument("--stop-words", type=int, default=20, help="stop words per language")
    parser.add_argument(
        "--segmentation", choices=["characters", "dictionary"], default="characters", help="words of zh/ja/th"
    )
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from thresher.stages.quality._calibrate import calibrate

    if not 0 < args.tail < 0.5:
        raise ConfigError(f"--tail {args.tail}: expected a share between 0 and 0.5")
    malformed = [item for item in args.spark_conf if "=" not in item]
    if malformed:
        raise ConfigError(f"--spark-conf {malformed[0]!r}: expected key=value")
    from thresher.spark import get_spark

    spark = get_spark(dict(item.split("=", 1) for item in args.spark_conf))
    samples = reference_samples(spark, args.input, args.text_field, args.model_path, args.segmentation)
    if not samples:
        raise ConfigError(f"--input {args.input}: no documents with text")
    settings, report = calibrate(samples, args.method, args.tail, args.min_documents, args.stop_words)
    output = settings.write(Path(args.output))
    report_path = Path(args.report or str(output).removesuffix(".gz").removesuffix(".json") + ".report.json")
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"{output}: thresholds for {len(settings.values)} languages; report {report_path}", file=sys.stdout)
    return 0


def _stages(model_path: str | None, segmentation: str) -> list[Any]:
    from thresher.stages.quality.fineweb import FineWebQuality, FineWebQualityParams
    from thresher.stages.quality.gopher import (
        GopherQuality,
        GopherQualityParams,
        GopherRepetition,
        GopherRepetitionParams,
    )
    from thresher.stages.quality.language import Language, LanguageParams

    return [
        Language(LanguageParams(model_path=model_path, threshold=0.0)),
        GopherRepetition(GopherRepetitionParams(segmentation=segmentation)),
        FineWebQuality(FineWebQualityParams(segmentation=segmentation)),
        GopherQuality(GopherQualityParams(segmentation=segmentation)),
    ]


def reference_samples(
    spark: Any, inputs: list[str], text_field: str, model_path: str | None, segmentation: str
) -> dict[str, Any]:
    """Per `lang_Script` key: a `LanguageSample` of quantile sketches and document frequencies of words."""
    import pyarrow as pa
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType

    from thresher.stages.fused import FusedPass
    from thresher.stages.quality._calibrate import LANGUAGE_SCORE, RULES, LanguageSample
    from thresher.text.langcodes import parse
    from thresher.text.words import word_splitter

    stages = _stages(model_path, segmentation)
    columns = sorted({LANGUAGE_SCORE, *(column for column, _, _ in RULES.values())})
    names = [c.replace(".", "__") for c in columns]
    schema = StructType(
        [StructField("key", StringType()), StructField("words", ArrayType(StringType()))]
        + [StructField(n, DoubleType()) for n in names]
    )

    def score(batches: Any) -> Any:
        fused = FusedPass(stages, "annotate")
        for batch in fused(batches):
            rows = batch.to_pylist()
            out: dict[str, list[Any]] = {"key": [], "words": [], **{n: [] for n in names}}
            for row in rows:
                lang = (row.get("language") or {}).get("lang")
                if not lang:
                    continue
                key = parse(lang).lang_script
                out["key"].append(key)
                words = word_splitter(lang, segmentation).split(row["text"][:5000])
                out["words"].append(sorted({w for w in words if any(c.isalpha() for c in w)}))
                for column, name in zip(columns, names, strict=True):
                    stage, signal = column.split(".")
                    value = (row.get(stage) or {}).get(signal)
                    out[name].append(None if value is None else float(value))
            yield pa.RecordBatch.from_pydict(out, schema=pa.schema([(f.name, _arrow(f.dataType)) for f in schema]))

    frame = spark.read.json(inputs).select(F.col(text_field).cast("string").alias("text")).where("text is not null")
    frame = frame.where(F.length(F.trim("text")) > 0)
    scored = frame.mapInArrow(score, schema).cache()
    grid = F.array(*[F.lit(q) for q in GRID])
    aggregates = scored.groupBy("key").agg(
        F.count("*").alias("documents"), *[F.percentile_approx(n, grid, 10_000).alias(n) for n in names]
    )
    words = (
        scored.select("key", F.explode("words").alias("word"))
        .groupBy("key", "word")
        .count()
        .withColumn("rank", F.row_number().over(_by_key_most_frequent()))
        .where("rank <= 200")
        .collect()
    )
    frequencies: dict[str, Counter] = {}
    for row in words:
        frequencies.setdefault(row["key"], Counter())[row["word"]] = row["count"]
    samples = {}
    for row in aggregates.collect():
        signals = {
            column: np.array([np.nan if v is None else v for v in (row[n] or [])], dtype=float)
            for column, n in zip(columns, names, strict=True)
        }
        samples[row["key"]] = LanguageSample(row["documents"], signals, frequencies.get(row["key"], Counter()))
    scored.unpersist()
    return samples


def _by_key_most_frequent() -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    return Window.partitionBy("key").orderBy(F.desc("count"), F.asc("word"))


def _arrow(kind: Any) -> Any:
    import pyarrow as pa
    from pyspark.sql.types import ArrayType, DoubleType

    if isinstance(kind, ArrayType):
        return pa.list_(pa.string())
    return pa.float64() if isinstance(kind, DoubleType) else pa.string()
