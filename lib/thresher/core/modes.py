"""Run modes: `filter` moves removed rows to `excluded/`; `annotate` removes nothing and records every decision."""

from typing import Literal

Mode = Literal["annotate", "filter"]
