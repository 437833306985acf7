"""Typed pipeline configuration: YAML -> pydantic models, validated once before Spark starts.

A config file has four sections:

    run:    where and how to run (output, mode, run_id, ...)
    input:  one input or a list of inputs (path or glob, format, field mapping, limits)
    spark:  Spark settings applied to the session (key: value)
    stages: an ordered mapping of stage id -> parameters (see `thresher stages` for ids and parameters)

Every error names the key path, the offending value and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from thresher.errors import ConfigError
from thresher.stages.base import ConfigPath, Mode, Stage
from thresher.stages.registry import stage_class

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMap(_Model):
    """Where the canonical fields are in an input record; dotted paths reach into nested JSON objects."""

    id: str | None = "id"
    text: str = "text"
    url: str | None = "url"
    # Fields copied into `meta` (a string map; non-string values are stored as compact JSON).
    # None copies every field that is not mapped above.
    meta: list[str] | None = None


class InputConfig(_Model):
    path: list[str] = Field(min_length=1, description="file, directory or glob; a list reads several")
    # `run`: the output directory of an earlier thresher run; its kept/ documents are read with every column
    # (scores and decisions included) as they are ("score once, select many"). `auto` recognises run outputs.
    # `warc` / `wet`: Common Crawl style archives (.warc[.gz], .warc.wet[.gz]); `auto` tells them by file name.
    format: Literal["auto", "jsonl", "parquet", "delta", "run", "warc", "wet"] = "auto"
    # Value of the `source` column; defaults to the input's file or directory name.
    source: str | None = None
    fields: FieldMap = FieldMap()
    # Longer texts go to quarantine with reason `too_large` (characters, after decoding).
    max_text_chars: int = Field(default=1_000_000, gt=0)
    # Records whose id was already used by another record: `rename` keeps them with a deterministic new id
    # `<id>~<hash of file and offset>` (the first occurrence in file/offset order keeps the id), `quarantine`
    # sends them to quarantine with reason `duplicate_id`.
    duplicate_ids: Literal["rename", "quarantine"] = "rename"

    @field_validator("path", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class RunConfig(_Model):
    output: ConfigPath | None = None
    mode: Mode = "filter"
    run_id: str | None = None
    seed: int = 42
    # Consecutive row stages run as one pass over the data (one checkpoint per pass). Set false for one
    # checkpoint per stage.
    fuse_row_stages: bool = True
    # Documents per Arrow batch handed to row stages.
    batch_size: int = Field(default=1000, gt=0, le=100_000)
    table_format: Literal["auto", "delta-spark", "delta-rs"] = "auto"
    # Write report.html at the end of the run.
    report: bool = True

    @field_validator("run_id")
    @classmethod
    def _run_id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _RUN_ID.match(value):
            raise ValueError("must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value


class _RawPipeline(_Model):
    run: RunConfig = RunConfig()
    input: list[InputConfig] = Field(min_length=1)
    spark: dict[str, str] = {}
    stages: dict[str, dict[str, Any] | None] = {}

    @field_validator("input", mode="before")
    @classmethod
    def _input_one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict | str) else value

    @field_validator("spark", mode="before")
    @classmethod
    def _spark_values_as_strings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _spark_value(v) for k, v in value.items()}
        return value


def _spark_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


@dataclass(frozen=True)
class StageSpec:
    id: str
    stage: Stage


@dataclass(frozen=True)
class PipelineConfig:
    run: RunConfig
    inputs: tuple[InputConfig, ...]
    spark: dict[str, str]
    stages: tuple[StageSpec, ...]
    # The config as resolved (defaults filled in), for the manifest and resume checks.
    resolved: dict[str, Any]
    source_path: str | None = None

    @property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]


def load_config(
    path: str | Path | None = None,
    *,
    data: dict[str, Any] | None = None,
    sets: Sequence[str] = (),
    input_path: str | None = None,
    output: str | None = None,
    mode: str | None = None,
    run_id: str | None = None,
    only_stages: Sequence[str] | None = None,
    spark_conf: Sequence[str] = (),
) -> PipelineConfig:
    """Read, override and validate a pipeline config. Raises ConfigError listing every problem."""
    if data is None:
        if path is None:
            raise ConfigError("no config given")
        data = read_yaml(Path(path))
    raw = _deep_copy(data)
    for assignment in sets:
        key, value = _split_assignment(assignment, "--set")
        _set_dotted(raw, key, yaml.safe_load(value) if value != "" else "")
    if input_path is not None:
        inputs = raw.get("input")
        first = inputs[0] if isinstance(inputs, list) and inputs else inputs
        base = dict(first) if isinstance(first, dict) else {}
        # A --input path given on the command line is relative to the working directory.
        base["path"] = str(Path(input_path).resolve()) if "://" not in input_path else input_path
        raw["input"] = base
    run = raw.setdefault("run", {})
    if not isinstance(run, dict):
        raise ConfigError(f"run: expected a mapping, got {run!r}")
    if output is not None:
        run["output"] = str(Path(output).resolve()) if "://" not in output else output
    if mode is not None:
        run["mode"] = mode
    if run_id is not None:
        run["run_id"] = run_id
    for assignment in spark_conf:
        key, value = _split_assignment(assignment, "--spark-conf")
        raw.setdefault("spark", {})[key] = value
    base_dir = str(Path(path).resolve().parent) if path is not None else None
    return _validate(raw, base_dir, only_stages, str(path) if path else None)


def _validate(
    raw: dict[str, Any], base_dir: str | None, only_stages: Sequence[str] | None, source_path: str | None
) -> PipelineConfig:
    context = {"base_dir": base_dir}
    errors: list[str] = []
    pipeline: _RawPipeline | None = None
    stage_entries = raw.get("stages") or {}
    try:
        pipeline = _RawPipeline.model_validate(raw, context=context)
    except ValidationError as error:
        errors.extend(_format_errors(error, (), _RawPipeline))
    stages: list[StageSpec] = []
    if not isinstance(stage_entries, dict):
        errors.append(f"stages: expected a mapping of stage id -> parameters, got {type(stage_entries).__name__}")
        stage_entries = {}
    for stage_id, params in stage_entries.items():
        try:
            cls = stage_class(str(stage_id))
        except ConfigError as error:
            errors.append(f"stages.{stage_id}: {error}")
            continue
        if params is not None and not isinstance(params, dict):
            errors.append(f"stages.{stage_id}: expected a mapping of parameters, got {params!r}")
            continue
        try:
            parsed = cls.Params.model_validate(params or {}, context=context)
        except ValidationError as error:
            errors.extend(_format_errors(error, ("stages", stage_id), cls.Params))
            continue
        stages.append(StageSpec(stage_id, cls(parsed)))
    if only_stages is not None:
        unknown = [s for s in only_stages if s not in stage_entries]
        if unknown:
            errors.append(
                f"--stages: {', '.join(unknown)} not in the config; its stages are: "
                f"{', '.join(map(str, stage_entries)) or '(none)'}"
            )
        stages = [s for s in stages if s.id in set(only_stages)]
    errors.extend(_check_requirements(stages))
    if errors or pipeline is None:
        where = f" {source_path}" if source_path else ""
        raise ConfigError(f"invalid config{where}:\n  " + "\n  ".join(errors))
    resolved = pipeline.model_dump(mode="json", exclude={"stages"})
    resolved["stages"] = {s.id: s.stage.params.model_dump(mode="json") for s in stages}
    return PipelineConfig(
        run=pipeline.run,
        inputs=tuple(pipeline.input),
        spark=dict(pipeline.spark),
        stages=tuple(stages),
        resolved=resolved,
        source_path=source_path,
    )


def _check_requirements(stages: Sequence[StageSpec]) -> Iterable[str]:
    seen: set[str] = set()
    for spec in stages:
        missing = [r for r in spec.stage.requires if r not in seen]
        if missing:
            yield f"stages.{spec.id}: needs stage(s) {', '.join(missing)} earlier in the pipeline"
        seen.add(spec.id)


def _format_errors(error: ValidationError, prefix: tuple[Any, ...], model: type[BaseModel]) -> list[str]:
    lines = []
    for item in error.errors():
        loc = (*prefix, *item["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, item["loc"][:-1])
            hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{key}: unknown key{hint}")
        elif item["type"] == "missing":
            lines.append(f"{key}: required")
        else:
            lines.append(f"{key}: {item['input']!r} is not allowed: {item['msg']}")
    return lines


def _allowed_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) if isinstance(current, type) else None
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    return list(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def parse_spark_conf(assignments: Sequence[str]) -> dict[str, str]:
    """`--spark-conf KEY=VALUE` options of commands that start Spark without a pipeline config."""
    return dict(_split_assignment(a, "--spark-conf") for a in assignments)


def _split_assignment(assignment: str, option: str) -> tuple[str, str]:
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{option} {assignment!r}: expected key=value")
    return key.strip(), value


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = target
    for i, part in enumerate(parts[:-1]):
        child = node.get(part) if isinstance(node, dict) else None
        if child is None:
            child = {}
            node[part] = child
        elif isinstance(child, list) and len(child) == 1 and isinstance(child[0], dict):
            child = child[0]
        elif not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: {'.'.join(parts[: i + 1])} is not a mapping")
        node = child
    node[parts[-1]] = value


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
