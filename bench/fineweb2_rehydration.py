"""Generate thresher's `fineweb2` rehydration preset (lib/thresher/resources/presets/fineweb2_rehydration.json.gz)
from FineWeb-2's published upsampling weights (../shared/data/fineweb2/rehydration/weights/up_to_NN_reps.json,
ODC-By 1.0), and check that `thresher.select.rehydration.weights_from_rates` recomputes them from the published
filtering rates per cluster size (rehydration/distributions/).

    .venv/bin/python -m bench.fineweb2_rehydration [--shared ../shared/data] [--check-only]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

from bench._common import SHARED_DATA
from thresher.select.rehydration import PRESET_FILE, PRESET_MAX_REPEATS, PRESET_SOURCE, weights_from_rates


def build(folder: Path) -> dict[str, object]:
    weights = {}
    for max_repeat in PRESET_MAX_REPEATS:
        tables = json.loads((folder / "weights" / f"up_to_{max_repeat:02d}_reps.json").read_text())
        weights[str(max_repeat)] = {lang: tables[lang] for lang in sorted(tables)}
    return {"format": "thresher-rehydration/1", "source": PRESET_SOURCE, "weights": weights}


def recompute(folder: Path, max_repeat: int) -> tuple[int, int, list[str]]:
    """Languages whose published table `weights_from_rates` reproduces exactly, of those with a distribution."""
    published = json.loads((folder / "weights" / f"up_to_{max_repeat:02d}_reps.json").read_text())
    same, total, differ = 0, 0, []
    for path in sorted((folder / "distributions").glob("*.json")):
        if path.stem not in published:
            continue
        data = json.loads(path.read_text())
        sizes = data["cluster_sizes"] + [data["tail_threshold"]]
        rates = data["cluster_removal_rates"] + [data["tail_removal_rate"]]
        table = weights_from_rates(sizes, rates, data["global_removal_rate"], max_repeat)
        total += 1
        if table == {int(k): v for k, v in published[path.stem].items()}:
            same += 1
        else:
            differ.append(path.stem)
    return same, total, differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED_DATA)
    parser.add_argument("--check-only", action="store_true")
    args = parser.parse_args(argv)
    folder = args.shared / "fineweb2" / "rehydration"
    for max_repeat in (3, 10):
        same, total, differ = recompute(folder, max_repeat)
        print(f"up to {max_repeat} copies: weights_from_rates reproduces {same}/{total} published tables {differ[:5]}")
    if not args.check_only:
        PRESET_FILE.write_bytes(gzip.compress(json.dumps(build(folder), separators=(",", ":")).encode(), 9, mtime=0))
        print(f"{PRESET_FILE}: {PRESET_FILE.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
