"""The base of every typed parameter set (stages, dedup keep policies, ...)."""

from pydantic import BaseModel, ConfigDict


class StageParams(BaseModel):
    """Typed parameters of a stage. Unknown keys are errors; every field needs a default and a
    `Field(description=...)` (it feeds `thresher stages` and the README's reference). NaN and infinity are
    refused in every float, inside maps and lists too."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
