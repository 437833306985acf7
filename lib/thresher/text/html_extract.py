"""HTML -> main text with trafilatura or Resiliparse, under a per-document time limit (Spark-free).

trafilatura is called exactly as a user would call `trafilatura.extract` with the same options (the benchmark
checks the texts are identical); FineWeb's settings (datatrove's `Trafilatura` step) are the defaults: favour
precision, no comments, deduplicate.
Resiliparse's `extract_plain_text(main_content=True)` is the fast option (DCLM's choice).

trafilatura can loop for minutes on pathological pages. A document over its time limit is interrupted by a
SIGALRM timer and reported as a timeout; a size limit keeps any single C-level parse short, so that the timer
fires soon after the limit. Signals reach only the main thread (where Spark's Python workers run batches): on
any other thread the page is extracted in a child process instead (`extract_child.py`), killed at the limit.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from thresher.text.extract_child import ChildTimeoutError, child_for_this_thread

log = logging.getLogger(__name__)

Extractor = Literal["trafilatura", "resiliparse"]

# Outcomes (the extract stage's exclusion reasons); None when text was extracted.
EMPTY_EXTRACTION = "empty_extraction"
EXTRACTION_TIMEOUT = "extraction_timeout"
EXTRACTION_FAILED = "extraction_failed"
HTML_TOO_LARGE = "html_too_large"


@dataclass(frozen=True)
class ExtractOptions:
    extractor: Extractor = "trafilatura"
    # trafilatura (FineWeb: favor_precision, no comments).
    favor_precision: bool = True
    favor_recall: bool = False
    include_comments: bool = False
    include_tables: bool = True
    include_links: bool = False
    deduplicate: bool = True
    # Resiliparse: only main-content elements (heuristics), keep paragraphs and list structure.
    main_content: bool = True
    preserve_formatting: bool = True
    # Title and publication date (trafilatura: bare_extraction with metadata, several times slower).
    metadata: bool = False
    timeout_seconds: float = 10.0
    max_html_chars: int = 2_000_000


@dataclass(frozen=True)
class Extraction:
    text: str
    # None when text was extracted, else one of the outcomes above.
    reason: str | None
    title: str | None = None
    date: str | None = None
    seconds: float = 0.0


class ExtractionTimeoutError(BaseException):
    """Raised inside the extractor by the per-document timer; a BaseException so that the extractor's own
    `except Exception` handlers cannot swallow it."""


def extract_main_text(html: str, options: ExtractOptions) -> Extraction:
    """The main text of one HTML page, or the reason there is none."""
    started = time.perf_counter()
    if len(html) > options.max_html_chars:
        return Extraction("", HTML_TOO_LARGE)
    # The first page of a worker would pay the extractor's import (a CPU second; many more seconds on a loaded
    # executor) inside its time limit and time out: import first.
    _import_extractor(options.extractor)
    try:
        if options.timeout_seconds > 0 and threading.current_thread() is not threading.main_thread():
            text, title, date = child_for_this_thread().extract(html, options, options.timeout_seconds)
        else:
            with time_limit(options.timeout_seconds):
                text, title, date = run_extractor(html, options)
    except (ExtractionTimeoutError, ChildTimeoutError):
        return Extraction("", EXTRACTION_TIMEOUT, seconds=time.perf_counter() - started)
    except Exception as error:
        log.warning("%s failed on a page: %s: %s", options.extractor, type(error).__name__, error)
        return Extraction("", EXTRACTION_FAILED, seconds=time.perf_counter() - started)
    text = (text or "").strip()
    seconds = time.perf_counter() - started
    return Extraction(text, None if text else EMPTY_EXTRACTION, title or None, date or None, seconds)


def _import_extractor(extractor: Extractor) -> None:
    if extractor == "trafilatura":
        import trafilatura  # noqa: F401
    else:
        import resiliparse.extract.html2text
        import resiliparse.parse.html  # noqa: F401


def run_extractor(html: str, options: ExtractOptions) -> tuple[str | None, str | None, str | None]:
    """(text, title, date) of one page, without a time limit."""
    if options.extractor == "trafilatura":
        return _trafilatura(html, options)
    return _resiliparse(html, options)


def trafilatura_options(options: ExtractOptions) -> dict[str, object]:
    """Keyword arguments of `trafilatura.extract` for these options (the benchmark calls it with them)."""
    return {
        "favor_precision": options.favor_precision,
        "favor_recall": options.favor_recall,
        "include_comments": options.include_comments,
        "include_tables": options.include_tables,
        "include_links": options.include_links,
        "deduplicate": options.deduplicate,
    }


def _trafilatura(html: str, options: ExtractOptions) -> tuple[str | None, str | None, str | None]:
    import trafilatura

    if not options.metadata:
        return trafilatura.extract(html, **trafilatura_options(options)), None, None  # type: ignore[arg-type]
    document = trafilatura.bare_extraction(html, with_metadata=True, **trafilatura_options(options))  # type: ignore[arg-type]
    if document is None:
        return None, None, None
    return document.text, document.title, document.date


def _resiliparse(html: str, options: ExtractOptions) -> tuple[str | None, str | None, str | None]:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    text = extract_plain_text(tree, main_content=options.main_content, preserve_formatting=options.preserve_formatting)
    title = tree.title if options.metadata else None
    return text, title, None


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ExtractionTimeoutError in the block after `seconds` of wall time (main thread only: elsewhere
    signals cannot be delivered, and extract_main_text uses a child process instead)."""
    if seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("time_limit needs the main thread (signals reach only it)")

    def expire(signum: int, frame: object) -> None:
        raise ExtractionTimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
