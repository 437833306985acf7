"""Zip the thresher package for `spark-submit --py-files` (`make dist` runs this).

The zip holds only thresher itself; its dependencies reach the driver and executors another way (a packed
virtual environment with --archives, the Docker image, or the cluster's own Python): see the README's
"Run on a cluster".
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lib" / "thresher"


def build(out_dir: Path) -> Path:
    sys.path.insert(0, str(ROOT / "lib"))
    from thresher import __version__

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"thresher-{__version__}.zip"
    files = sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    # Fixed timestamps keep the zip byte-identical for identical sources.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(str(path.relative_to(PACKAGE.parent)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default=str(ROOT / "dist"))
    print(build(Path(parser.parse_args().out_dir)))
