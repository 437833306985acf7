"""The reference side of bench/warc_extract.py: datatrove's WarcReader + Trafilatura (FineWeb's extraction step)
over WARC files. Runs in its own venv (`make reference-warc-venv`), never in thresher's:

    build/venvs/datatrove-warc/bin/python bench/datatrove_warc.py OUT.json FILE.warc.gz [FILE.warc.gz ...]

Writes the pages read, their HTML characters, the documents extracted, the CPU seconds of this process and of
its children (datatrove extracts in a sandbox subprocess), and the wall seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader

    out, files = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    # Timeout as thresher's bench uses (datatrove's default is 1 s, too tight on a shared machine).
    extractor = Trafilatura(favour_precision=True, timeout=10.0)
    texts = 0
    chars = 0
    pages = 0
    html_chars = 0
    started_wall = time.perf_counter()
    started = os.times()

    def documents():
        nonlocal pages, html_chars
        for path in files:
            for doc in WarcReader(data_folder=str(path.parent), glob_pattern=path.name, doc_progress=False).run():
                # The pages handed to the extractor, for a per-page comparison.
                pages += 1
                html_chars += len(doc.text)
                yield doc

    # One extractor run over all files: one sandbox process, as in a datatrove task.
    for doc in extractor.run(documents()):
        texts += 1
        chars += len(doc.text)
    # The sandbox process is reaped when run() ends: its CPU time is in the children's times now.
    finished = os.times()
    result = {
        "documents": texts,
        "chars": chars,
        "pages": pages,
        "html_chars": html_chars,
        "cpu_seconds": (finished.user - started.user) + (finished.system - started.system),
        "children_cpu_seconds": (finished.children_user - started.children_user)
        + (finished.children_system - started.children_system),
        "wall_seconds": time.perf_counter() - started_wall,
    }
    out.write_text(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
