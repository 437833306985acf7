"""Checks that run before Spark starts, so that what a user can fix is reported in one line within a second,
not as a stack trace after Spark's start-up: Java, optional extras, inputs that do not exist, an output that
cannot be written. And `describe_failure`: one line for an unexpected error (the trace goes to the log)."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
from collections.abc import Sequence

from thresher.errors import ConfigError, InputError, ThresherError

# Module -> the extra that installs it.
_EXTRA_OF = {"torch": "models", "sentence_transformers": "models", "sklearn": "models", "transformers": "models"}

# Fragments of Java/Python error messages -> what they mean for a user.
_KNOWN_FAILURES = (
    ("No space left on device", "the disk is full (No space left on device); free space or use another --output"),
    ("Read-only file system", "the output is on a read-only file system; use another --output"),
    ("Permission denied", "permission denied writing or reading a file; check the --output and input permissions"),
    ("JAVA_GATEWAY_EXITED", "Spark could not start its Java process; check that Java 17 or 21 is installed"),
    ("JAVA_HOME is not set", "Java is not installed (JAVA_HOME is not set); install Java 17 or 21"),
)
_VANISHED = ("FileNotFoundException", "No such file or directory", "does not exist")


def check_java() -> None:
    """Spark needs a Java runtime: without one it fails with a long py4j trace."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return
    if shutil.which("java"):
        return
    where = f"JAVA_HOME={java_home} has no bin/java" if java_home else "no `java` on PATH and JAVA_HOME is not set"
    raise ThresherError(
        f"Java is not installed ({where}); Spark needs Java 17 or 21: install a JDK (e.g. `apt-get install "
        "openjdk-17-jre-headless`) or set JAVA_HOME"
    )


def require_modules(modules: Sequence[str], what: str) -> None:
    """Raise a one-line error naming the extra to install when a module `what` needs is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        extras = sorted({_EXTRA_OF.get(m, "models") for m in missing})
        raise ConfigError(
            f"{what} needs {', '.join(missing)}, which is not installed: pip install 'thresher[{','.join(extras)}]'"
        )


def check_local_inputs(patterns: Sequence[str]) -> None:
    """Local input paths and globs must exist / match before Spark starts (object stores are listed later)."""
    from thresher.io.inputs import expand_braces

    for pattern in patterns:
        if "://" in pattern and not pattern.startswith("file://"):
            continue
        local = os.path.abspath(pattern.removeprefix("file://"))
        if any(c in local for c in "*?[{"):
            if not any(glob.glob(p, recursive=True) for p in expand_braces(local)):
                raise InputError(f"input {pattern}: the glob matches nothing")
        elif not os.path.exists(local):
            raise InputError(f"input {pattern}: no such file or directory")


def check_output_writable(output: str) -> None:
    """A local output directory must be creatable and writable."""
    if "://" in output and not output.startswith("file://"):
        return
    path = os.path.abspath(output.removeprefix("file://"))
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"run.output {output}: cannot create it ({error.strerror})") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"run.output {output}: not writable (permission denied or a read-only file system)")


def describe_failure(error: BaseException) -> str:
    """One line for an error thresher did not anticipate: what it means when known, else its first line."""
    text = str(error)
    for fragment, meaning in _KNOWN_FAILURES:
        if fragment in text:
            return meaning
    if any(fragment in text for fragment in _VANISHED):
        first = next((line for line in text.splitlines() if any(f in line for f in _VANISHED)), "")
        hint = "was the output or an input deleted while it ran?"
        return f"a file the run needs disappeared ({hint}): {first.strip()[:300]}"
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(error).__name__}: {first_line[:300]}"
