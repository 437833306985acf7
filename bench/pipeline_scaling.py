"""How the whole web_en pipeline's time grows with the corpus: `thresher run conf/web_en.yaml` on local[2] at
several sizes of a corpus generated from real text.

    python -m bench.pipeline_scaling [--sizes 2000 20000 100000] [--driver-memory 4g]
    python -m bench.pipeline_scaling --sizes 2000 100000 1000000 5000000 --driver-memory 8g   # the issue's sizes

The corpora (bench/pipeline_corpus.py, written once per size under build/bench/pipeline/scaling/, gzipped JSONL
shards of 50,000 documents, never into the repository): every document joins random runs of lines of the
distinct real documents of ../shared/data (JSONL corpora and WARC pages) up to the length of a real document
drawn at random, with 8 % of its words replaced; ~6 % are planted exact copies and ~8 % near duplicates of a
recent document, so the dedup stages find realistic shares and the length distribution is the real one.

Each size runs in its own process tree under the CPU-time harness (bench/_common.py): wall seconds, CPU seconds
of the tree, peak resident memory, load average, and each stage's wall seconds from the run's stats table. The
smallest size is the fixed-cost probe: the time past fixed costs of a size is its time minus the probe's, and the
scaling factor of two sizes is the ratio of those, normalised to 10x the documents
((t2 - t0) / (t1 - t0)) ** (1 / log10(n2 / n1)); near-linear means <= 12 (issue 16's target). CPU seconds are
the headline (the machine is shared); wall beside them. Writes bench/results/pipeline_scaling.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
from pathlib import Path
from typing import Any

from bench._common import machine, write_result
from bench.pipeline_corpus import BUILD, real_documents, scaled_documents, write_jsonl
from bench.pipeline_speed import run_web_en

WORK = BUILD / "scaling"
SHARD = 50_000
TARGET_FACTOR = 12.0


def corpus(size: int) -> dict[str, Any]:
    folder = WORK / f"corpus_{size}"
    info = folder / "corpus.json"
    if info.exists():
        return json.loads(info.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    documents = scaled_documents(real_documents(), size, seed=size)
    count = text_bytes = 0
    for shard in itertools.count():
        rows = [{"id": d["id"], "text": d["text"], "url": d["url"]} for d in itertools.islice(documents, SHARD)]
        if not rows:
            break
        written, written_bytes = write_jsonl(rows, folder / f"part-{shard:04d}.jsonl.gz", compress=True)
        count, text_bytes = count + written, text_bytes + written_bytes
    result = {"folder": str(folder), "documents": count, "text_mb": text_bytes / 1e6}
    info.write_text(json.dumps(result))
    return result


def run_size(size: int, driver_memory: str) -> dict[str, Any]:
    data = corpus(size)
    output = WORK / f"run_{size}"
    measured, manifest = run_web_en(str(Path(data["folder"]) / "*.jsonl.gz"), output, 2, driver_memory)
    shutil.rmtree(output, ignore_errors=True)  # a 5M-document run's checkpoints are tens of GB
    return {"size": size, "text_mb": data["text_mb"], **measured, "totals": manifest["totals"]}


def factor_per_10x(probe: float, small: tuple[int, float], large: tuple[int, float]) -> float | None:
    """Time ratio past fixed costs for 10x the documents, from two sizes and the fixed-cost probe's time."""
    (n1, t1), (n2, t2) = small, large
    if t1 <= probe or t2 <= probe or n2 <= n1:
        return None
    return ((t2 - probe) / (t1 - probe)) ** (1 / math.log10(n2 / n1))


def linear_fit(points: list[tuple[int, float]]) -> dict[str, float]:
    """Least squares time = fixed + per_document * n."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx if sxx else 0.0
    return {"fixed_seconds": mean_y - slope * mean_x, "seconds_per_1k_documents": 1000 * slope}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20_000, 100_000])
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes))
    points = []
    for size in sizes:
        print(f"{size:,} documents ...", flush=True)
        point = run_size(size, args.driver_memory)
        points.append(point)
        top = sorted(point["stage_wall_seconds"].items(), key=lambda item: -item[1])[:4]
        print(
            f"  {point['cpu_seconds']:8.1f} CPU s  {point['wall_seconds']:8.1f} wall s  peak "
            f"{point['peak_rss_mb']:6.0f} MB  load {point['load_average_mean']:.1f}  slowest stages: "
            + ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in top),
            flush=True,
        )
    factors = []
    if len(points) >= 3:
        probe = points[0]
        for a, b in itertools.pairwise(points[1:]):
            factors.append(
                {
                    "from": a["size"],
                    "to": b["size"],
                    "cpu_factor_per_10x": factor_per_10x(
                        probe["cpu_seconds"], (a["size"], a["cpu_seconds"]), (b["size"], b["cpu_seconds"])
                    ),
                    "wall_factor_per_10x": factor_per_10x(
                        probe["wall_seconds"], (a["size"], a["wall_seconds"]), (b["size"], b["wall_seconds"])
                    ),
                }
            )
    result = {
        "points": points,
        "fixed_cost_probe": sizes[0],
        "factors": factors,
        "fit_cpu": linear_fit([(p["size"], p["cpu_seconds"]) for p in points]) if len(points) >= 2 else None,
        "fit_wall": linear_fit([(p["size"], p["wall_seconds"]) for p in points]) if len(points) >= 2 else None,
        "target_factor_per_10x": TARGET_FACTOR,
        "machine": machine(),
    }
    path = write_result("pipeline_scaling", result)
    for factor in factors:
        cpu, wall = factor["cpu_factor_per_10x"], factor["wall_factor_per_10x"]
        print(
            f"{factor['from']:,} -> {factor['to']:,}: past fixed costs, 10x the documents -> "
            f"{cpu if cpu is None else f'{cpu:.1f}'}x the CPU time (headline), "
            f"{wall if wall is None else f'{wall:.1f}'}x the wall time (target <= {TARGET_FACTOR:.0f}x)"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
