"""Benchmarks: `python -m bench.<name>` from the repository root; results go to bench/results/<name>.json."""
