"""The end-of-run summary printed by `thresher run`: per-stage counts and where the output is."""

from __future__ import annotations

from typing import TextIO

from thresher.core.records import StageStats
from thresher.io import fs
from thresher.layout import OutputLayout
from thresher.runner import RunResult


def _speed(row: StageStats) -> str:
    return "-" if row.docs_per_second is None else f"{row.docs_per_second:.0f}"


def print_summary(result: RunResult, out: TextIO) -> None:
    layout = OutputLayout(result.output)
    print(f"\nrun {result.run_id}", file=out)
    header = f"{'stage':<22}{'docs in':>10}{'out':>10}{'removed':>10}{'flagged':>10}{'chars kept':>12}{'docs/s':>10}"
    print(header, file=out)
    print("-" * len(header), file=out)
    for row in result.stats:
        chars_kept = row["chars_out"] / row["chars_in"] if row["chars_in"] else 1.0
        print(
            f"{row['stage']:<22}{row['docs_in']:>10}{row['docs_out']:>10}{row['docs_excluded']:>10}"
            f"{row['docs_flagged']:>10}{chars_kept:>11.1%}{_speed(row):>10}",
            file=out,
        )
        top = sorted(row["reason_counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:4]
        if top:
            print(f"{'':<22}reasons: " + ", ".join(f"{k} {v}" for k, v in top), file=out)
    if result.stopped_after:
        print(
            f"\nstopped after {result.stopped_after} (--until); run without --until to finish the pipeline and "
            "write the final tables",
            file=out,
        )
        if result.reused:
            print(f"reused committed checkpoints: {', '.join(result.reused)}", file=out)
        print(f"\ncheckpoints: {layout.checkpoints}\nstats:       {layout.stats}", file=out)
        print(f"manifest:    {layout.manifest}", file=out)
        return
    totals = result.totals
    print(
        f"\n{totals['input_records']} input records = {totals['kept']} kept + {totals['excluded']} excluded + "
        f"{totals['quarantine']} quarantined",
        file=out,
    )
    if result.reused:
        print(f"reused committed checkpoints: {', '.join(result.reused)}", file=out)
    print("\noutput (Delta tables):", file=out)
    for name in ("kept", "excluded", "quarantine", "stats"):
        print(f"  {name:<11}{getattr(layout, name)}", file=out)
    print(f"  {'manifest':<11}{layout.manifest}", file=out)
    if fs.exists(layout.report):
        print(f"  {'report':<11}{layout.report}", file=out)
