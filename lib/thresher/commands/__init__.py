"""Sub-commands of the `thresher` CLI, one module each (discovered by thresher.cli)."""
