"""`thresher stages` documents every parameter, and the README's stage reference is generated from the same
declarations."""

from __future__ import annotations

from pydantic import Field

from tests.conftest import PROJECT_ROOT
from thresher.stages.base import StageParams
from thresher.stages.docs import README_END, README_START, all_stage_docs, param_docs, render_markdown


def test_every_parameter_of_every_stage_has_a_type_default_and_description():
    undocumented = [f"{d.id}.{p.name}" for d in all_stage_docs() for p in d.params if not p.description]
    assert undocumented == []
    assert all(d.summary for d in all_stage_docs())


def test_types_and_defaults_read_in_plain_words():
    class Example(StageParams):
        # Smallest count (a comment above the field describes it too).
        low: int = Field(default=0, ge=0)
        share: float | None = Field(default=None, gt=0, le=1, description="Fraction kept.")
        names: list[str] = Field(default_factory=lambda: ["a"], description="Names.")

    docs = {p.name: p for p in param_docs(Example)}
    assert (docs["low"].type, docs["low"].default, docs["low"].description) == (
        "integer (>= 0)",
        "0",
        "Smallest count (a comment above the field describes it too).",
    )
    assert (docs["share"].type, docs["share"].default) == ("number or null (> 0, <= 1)", "null")
    assert (docs["names"].type, docs["names"].default) == ("list of string", '["a"]')


def test_the_readme_stage_reference_is_generated_and_current():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END) + 1
    assert readme[start:end] == render_markdown(all_stage_docs()), (
        "README.md's stage reference is stale: regenerate it with `thresher stages --markdown` "
        "(replace the block between the stage-reference markers)"
    )
