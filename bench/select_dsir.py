"""DSIR on the shared corpora: target = news articles (aeb_gold_articles_181), pool = the other corpora.

Reports, for several selection sizes, the KL divergence of hashed unigram+bigram features between the target
and the pool, a random sample and the DSIR selection of the same size (the stage's own `report.metrics`), and the
stage's wall time against a baseline measured in the same run: one pass of feature counting over the pool.
Writes bench/results/select_dsir.json. Run from the repository root: `python -m bench.select_dsir`.
"""

from __future__ import annotations

import json
import tempfile
import time

from bench._common import RESULTS, SHARED_DATA
from thresher.conf import InputConfig
from thresher.core.scratch import Scratch
from thresher.io.delta import DeltaStore
from thresher.io.ingest import documents, ingest
from thresher.io.inputs import plan_inputs
from thresher.schema import TEXT
from thresher.spark import get_spark
from thresher.stages.base import StageContext
from thresher.stages.selection.dsir import Dsir, DsirParams, feature_counts

POOL = (
    "dolma_cc_2019_30_raw.jsonl",
    "olmo_c4_1000.jsonl",
    "dclm_human_quality_499.jsonl",
    "dolma_ccnet_head_30.jsonl",
)
TARGET = "aeb_gold_articles_181.jsonl"
SIZES = (100, 200, 500)
RESULT = RESULTS / "select_dsir.json"


def main() -> None:
    spark = get_spark({"spark.master": "local[2]", "spark.driver.memory": "3g", "spark.sql.shuffle.partitions": "8"})
    store = DeltaStore(spark, "delta-rs")
    with tempfile.TemporaryDirectory() as scratch:
        planned = plan_inputs(spark, (InputConfig(path=[str(SHARED_DATA / n) for n in POOL]),))
        with ingest(spark, planned, store) as ingested:
            pool = Scratch(spark, scratch).materialize(documents(ingested), "pool")
        started = time.perf_counter()
        feature_counts(pool.select(TEXT), 10_000)
        baseline = time.perf_counter() - started
        rows = []
        for size in SIZES:
            ctx = StageContext(spark, "bench", "filter", 42, f"{scratch}/dsir{size}")
            started = time.perf_counter()
            out, report = Dsir(DsirParams(target=[str(SHARED_DATA / TARGET)], target_count=size)).apply(pool, ctx)
            out.where("dsir.keep").count()
            wall = time.perf_counter() - started
            rows.append(
                {"selected": size, **report.metrics, "wall_seconds": wall, "wall_vs_one_count_pass": wall / baseline}
            )
            print(json.dumps(rows[-1]))
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps({"pool_count_pass_seconds": baseline, "runs": rows}, indent=2) + "\n")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
