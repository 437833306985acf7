"""Run every benchmark, each in its own process, and print the headline numbers (`make bench`).

    python -m bench.run_all [--only NAME ...] [--full]

Each benchmark writes bench/results/<name>.json; this script only orchestrates and summarises. Targets are
ratios against a baseline measured in the same run (see each benchmark's docstring); speed ratios are CPU-time
based (bench/_common.py's harness) where a benchmark says so. `--full` adds the 1M-document point of the dedup
scaling run (about 10 minutes and 6 GB of driver memory), the whole-pipeline scaling run at 100k / 1M / 5M
documents (hours on 2 cores, ~25 GB of generated corpora under build/) and a larger pipeline_speed corpus.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench._common import RESULTS, ROOT


@dataclass(frozen=True)
class Benchmark:
    name: str
    args: tuple[str, ...]
    headline: Callable[[Any], str]
    full_args: tuple[str, ...] = field(default=())


def _quality_agreement(r: dict) -> str:
    return (
        f"lowest agreement with datatrove over all corpora and rule sets: {r['lowest_agreement']:.2%} (target >= 97%)"
    )


def _quality_speed(r: dict) -> str:
    if "ratio_fused_pass_cpu" not in r:  # a result file from before the CPU-time harness
        return f"fused pass {r['ratio_fused_pass']:.1f}x datatrove (wall), whole run {r['ratio_whole_run']:.1f}x"
    return (
        f"per CPU second vs datatrove: fused pass {r['ratio_fused_pass_cpu']:.1f}x (target >= 30x), whole run "
        f"{r['ratio_whole_run_cpu']:.1f}x (target >= 20x); wall {r['ratio_fused_pass_wall']:.1f}x / "
        f"{r['ratio_whole_run_wall']:.1f}x; load {r['thresher']['load_average_mean']:.1f}"
    )


def _row_costs(r: dict) -> str:
    costs = r["cpu_ms_per_document"]
    return (
        f"CPU ms per document ({r['documents']:,} distinct, {r['mean_chars']:,.0f} chars): rules' pass "
        f"{costs['fused']:.2f}, refine preparation {costs['refine_preparation']:.2f}, pii {costs['pii']:.2f}, "
        f"language {costs['language']:.2f} (its prediction {costs['lid_per_batch']:.2f} per batch vs "
        f"{costs['lid_fasttext_predict']:.2f} through fastText's predict)"
    )


def _pipeline_speed(r: dict) -> str:
    mine, theirs, corpus = r["thresher"], r["datatrove"], r["corpus"]
    return (
        f"web_en on {corpus['documents']:,} docs ({corpus['text_mb']:.0f} MB): thresher "
        f"{mine['mb_per_cpu_second']:.2f} MB/s per core (target >= 2), datatrove {theirs['mb_per_cpu_second']:.2f}; "
        f"{r['ratio_cpu']:.1f}x datatrove per CPU second (target >= 10x), {r['ratio_wall']:.1f}x wall; peak "
        f"{mine['peak_rss_mb']:.0f} / {theirs['peak_rss_mb']:.0f} MB; load {mine['load_average_mean']:.1f}"
    )


def _pipeline_scaling(r: dict) -> str:
    points = ", ".join(f"{p['size']:,}: {p['cpu_seconds']:.0f} CPU s" for p in r["points"])
    factors = ", ".join(
        f"{f['from']:,}->{f['to']:,}: x{f['cpu_factor_per_10x']:.1f}" if f["cpu_factor_per_10x"] else "n/a"
        for f in r["factors"]
    )
    return f"{points}; CPU time per 10x documents past fixed costs: {factors or 'n/a'} (target <= 12x)"


def _dedup_accuracy(r: dict) -> str:
    default = next(
        x for x in r["runs"] if x["threshold"] == 0.8 and x["verify"] == "exact" and (x["bands"], x["rows"]) == (14, 8)
    )
    return f"threshold 0.8: precision {default['precision']:.3f} (>= 0.95), recall {default['recall']:.3f} (>= 0.90)"


def _dedup_speed(r: dict) -> str:
    line = (
        f"{r['documents']} docs: thresher {r['thresher']['docs_per_second']:.0f} docs/s = "
        f"{r['thresher_vs_mllib_speed']:.1f}x MLlib wall"
    )
    if "thresher_vs_mllib_cpu" in r:
        line += f", {r['thresher_vs_mllib_cpu']:.1f}x per CPU second (target >= 5x)"
    if "signatures" in r:
        line += f"; {r['signatures']['signatures_per_cpu_second']:,.0f} signatures/s/core (target >= 10k)"
    if "signatures_real" in r:
        line += f", {r['signatures_real']['signatures_per_cpu_second']:,.0f} on the real documents"
    return line + f"; datasketch {r['datasketch']['docs_per_second']:.0f} docs/s"


def _dedup_scaling(r: list) -> str:
    points = ", ".join(f"{p['size']:,}: {p['seconds']:.0f} s" for p in r)
    ratios = ", ".join(f"x{b['seconds'] / a['seconds']:.2f}" for a, b in itertools.pairwise(r))
    return f"{points} (time ratio per 10x documents: {ratios})"


def _dedup_index(r: dict) -> str:
    ratios = r["ratios"]
    return (
        f"new dump vs index {ratios['cpu_index_vs_one_run']:.2f}x the CPU of one run over both; "
        f"index {r['scale']}x larger -> {ratios['cpu_large_vs_small_index']:.2f}x; "
        f"documents {r['documents_two_runs']} (two runs) vs {r['documents_one_run']} (one run)"
    )


def _embed(r: dict) -> str:
    return (
        ", ".join(f"{run['cores']} core(s): Spark {run['ratio']:.2f} of plain encode" for run in r["runs"])
        + " (target >= 0.90)"
    )


def _dsir(r: dict) -> str:
    return ", ".join(f"{run['selected']} selected: KL reduction {run['kl_reduction']:.3f}" for run in r["runs"])


def _report_stats(r: dict) -> str:
    return (
        ", ".join(f"{name}: stats {p['stats_to_pass']:.2f}x of the pass" for name, p in r["passes"].items())
        + f"; report {r['report_seconds']:.1f} s"
    )


def _tokens_decontam(r: dict) -> str:
    tokens = ", ".join(
        f"{name.split('.')[0]} {t['thresher_tokens_per_cpu_second'] / 1e6:.2f}M tok/s/core "
        f"({t['thresher_vs_direct']:.2f}x direct, equal={t['equal']})"
        for name, t in r["tokens"].items()
    )
    d = r["decontamination"]
    found = sum(v["found"] for b in d["recall"].values() for v in b.values())
    planted = sum(v["planted"] for b in d["recall"].values() for v in b.values())
    return (
        f"{tokens}; decontaminate {d['docs_per_cpu_second']:.0f} docs/s/core, recall {found}/{planted}, "
        f"false positives {d['false_positives']}/{d['docs']}"
    )


def _warc_extract(r: dict) -> str:
    q, t = r["quality"], r["throughput"]
    return (
        f"with/without snippets: trafilatura {q['thresher_trafilatura']['with_found']:.1%}/"
        f"{q['thresher_trafilatura']['without_absent']:.1%} ({q['identical_to_direct']}/{q['pages']} identical to "
        f"trafilatura), resiliparse {q['thresher_resiliparse']['with_found']:.1%}/"
        f"{q['thresher_resiliparse']['without_absent']:.1%}; per core vs datatrove: trafilatura "
        f"{t['ratio_trafilatura_vs_datatrove']:.2f}x (target >= 1.2x), resiliparse "
        f"{t['ratio_resiliparse_vs_datatrove']:.1f}x (target >= 5x)"
    )


def _lm_perplexity(r: dict) -> str:
    return (
        ", ".join(f"{'+'.join(run['reference'])}: ROC AUC {run['roc_auc_neg_perplexity']:.3f}" for run in r["runs"])
        + f" (fastText 5-fold {r['fasttext_5fold_roc_auc_readme']:.3f}, supervised)"
    )


def _ingest_speed(r: dict) -> str:
    speeds = ", ".join(f"{name} {x['mb_per_cpu_second']:.1f}" for name, x in r["readers"].items())
    return f"MB/s per core: {speeds} (load average {r['load_average_1min']['median']:.1f})"


def _stats_overhead(r: dict) -> str:
    return (
        f"statistics {r['stats_share_before']:.1%} of a segment's time as a separate pass -> "
        f"{r['stats_share_after']:.1%} in the pass (target <= 10%); Spark jobs per run "
        f"{r['spark_jobs_before']:.0f} -> {r['spark_jobs_after']:.0f}"
    )


BENCHMARKS = (
    Benchmark("quality_agreement", ("--show", "3"), _quality_agreement),
    Benchmark("quality_speed", ("--docs", "50000", "--reference-docs", "4814", "--rounds", "2"), _quality_speed),
    Benchmark(
        "pipeline_speed",
        ("--docs", "10000", "--rounds", "2"),
        _pipeline_speed,
        full_args=("--docs", "50000", "--rounds", "3"),
    ),
    Benchmark(
        "pipeline_scaling",
        ("--sizes", "2000", "20000", "100000"),
        _pipeline_scaling,
        full_args=("--sizes", "2000", "100000", "1000000", "5000000", "--driver-memory", "8g"),
    ),
    Benchmark("dedup_accuracy", (), _dedup_accuracy),
    Benchmark("dedup_speed", ("--variants", "16"), _dedup_speed),
    Benchmark(
        "dedup_scaling",
        ("--sizes", "10000", "100000"),
        _dedup_scaling,
        full_args=("--sizes", "10000", "100000", "1000000"),
    ),
    Benchmark("dedup_index", ("--dump", "2000", "--scale", "10"), _dedup_index),
    Benchmark("embed_throughput", (), _embed),
    Benchmark("select_dsir", (), _dsir),
    Benchmark("report_stats", ("--docs", "20000"), _report_stats),
    Benchmark("tokens_decontam", (), _tokens_decontam),
    Benchmark("warc_extract", (), _warc_extract),
    Benchmark("lm_perplexity", (), _lm_perplexity),
    Benchmark("ingest_speed", ("--mb", "150"), _ingest_speed),
    Benchmark("stats_overhead", ("--docs", "3000"), _stats_overhead),
    Benchmark("row_costs", ("--docs", "4000"), _row_costs),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHMARKS])
    parser.add_argument("--full", action="store_true", help="the large sizes of the scaling benchmarks")
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    outcomes: list[tuple[str, float, str]] = []
    for bench in chosen:
        command = [
            sys.executable,
            "-m",
            f"bench.{bench.name}",
            *(bench.full_args if args.full and bench.full_args else bench.args),
        ]
        print(f"\n=== {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        status = subprocess.run(command, cwd=ROOT).returncode
        seconds = time.perf_counter() - started
        result_file = RESULTS / f"{bench.name}.json"
        if status != 0 or not result_file.exists():
            outcomes.append((bench.name, seconds, f"FAILED (exit {status})"))
            continue
        outcomes.append((bench.name, seconds, bench.headline(json.loads(result_file.read_text()))))
    print("\n=== summary (bench/results/*.json hold every number)")
    for name, seconds, line in outcomes:
        print(f"{name:<18} {seconds:>7.0f} s  {line}")
    return 1 if any(line.startswith("FAILED") for _, _, line in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
