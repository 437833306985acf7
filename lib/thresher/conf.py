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
from thresher.set_into_maps import check_set_into_default_map
from thresher.stages.base import ConfigPath, Mode, Stage
from thresher.stages.registry import stage_class

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class _Model(BaseModel):
    # NaN and infinity are refused everywhere, inside maps and lists too: `.nan` would silently disable a rule.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
    # Value of the `source` column; defaults to the input's file or directory name (several paths: their names
    # joined by '+').
    source: str | None = None
    # `file`: each document's source is the name of the file it came from (stem, without extensions).
    source_by: Literal["input", "file"] = "input"
    fields: FieldMap = FieldMap()
    # Longer texts go to quarantine with reason `too_large` (characters, after decoding).
    max_text_chars: int = Field(default=1_000_000, gt=0)
    # Records whose id was already used by another record: `rename` keeps them with a deterministic new id
    # `<id>~<hash of file and offset>` (the first occurrence in file/offset order keeps the id), `quarantine`
    # sends them to quarantine with reason `duplicate_id`.
    duplicate_ids: Literal["rename", "quarantine"] = "rename"
    # Plain JSON-lines files larger than this are read by several tasks, one per byte range (compressed files:
    # one task per file). Rows do not depend on it, so it stays out of the input fingerprint (exclude=True).
    split_mb: float = Field(default=128, gt=0, exclude=True)

    @field_validator("path", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("source_by")
    @classmethod
    def _one_way_to_name(cls, value: str, info: Any) -> str:
        if value == "file" and info.data.get("source") is not None:
            raise ValueError("source_by: file names each document by its file; remove source (or source_by)")
        return value


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
    # The run fails (non-zero exit, manifest status `failed`) when a larger share of its input records is
    # quarantined (e.g. a CSV read as jsonl) ...
    max_quarantine_fraction: float = Field(default=0.5, ge=0, le=1)
    # ... or when a stage raises on a larger share of the documents it is given (`stage_error:*` reasons).
    max_error_fraction: float = Field(default=0.01, ge=0, le=1)
    # Write into an output directory that holds files thresher did not write (refused by default).
    allow_other_files: bool = False
    # A tokenizer file (a tiktoken `.tiktoken` rank file or a Hugging Face `tokenizer.json`): every output row
    # then has a `tokens` column, stats count tokens per stage, and `budget` can count in tokens.
    tokenizer: ConfigPath | None = None

    @field_validator("tokenizer")
    @classmethod
    def _tokenizer_loads(cls, value: str | None) -> str | None:
        if value is not None:
            from thresher.text.tokens import inspect_tokenizer_file

            try:
                inspect_tokenizer_file(value)
            except ConfigError as error:
                raise ValueError(str(error).removeprefix("run.tokenizer: ")) from None
        return value

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
    input_path: str | Sequence[str] | None = None,
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
    check_top_level_keys(data)
    raw = _deep_copy(data)
    for assignment in sets:
        key, value = _split_assignment(assignment, "--set")
        check_set_target(raw, key)
        check_set_into_default_map(raw, key)
        _set_dotted(raw, key, _parse_set_value(key, value))
    if input_path is not None:
        raw["input"] = command_line_inputs(raw.get("input"), input_path)
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
        if only_stages is not None and stage_id not in only_stages:
            # Only the stages that run are validated: a model file another stage needs may not exist yet.
            continue
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
    if pipeline is not None and pipeline.run.tokenizer is None:
        errors.extend(
            f"stages.{s.id}: counts tokens, which needs run.tokenizer (a .tiktoken rank file or a tokenizer.json)"
            for s in stages
            if s.stage.needs_tokenizer()
        )
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


def _refuse_alias(loader: yaml.SafeLoader, parent: Any, index: Any) -> Any:
    # A few bytes of nested aliases expand to gigabytes (a "billion laughs" file): configs repeat values instead.
    if loader.check_event(yaml.AliasEvent):
        mark = loader.peek_event().start_mark
        raise ConfigError(
            f"YAML alias at line {mark.line + 1} column {mark.column + 1}: aliases (*name) are not supported in "
            "thresher configs; write the value out"
        )
    return yaml.SafeLoader.compose_node(loader, parent, index)


_UniqueKeyLoader.compose_node = _refuse_alias  # type: ignore[assignment,method-assign]


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


def check_top_level_keys(data: dict[str, Any]) -> None:
    """Unknown top-level keys are refused before anything under them is copied or expanded."""
    unknown = [str(k) for k in data if k not in _RawPipeline.model_fields]
    if unknown:
        raise ConfigError(
            f"unknown top-level key(s) {', '.join(unknown)}; allowed keys: {', '.join(_RawPipeline.model_fields)}"
        )


def check_set_target(raw: dict[str, Any], dotted: str) -> None:
    """`--set stages.X.key=...` changes a stage of the config; it never adds one (that is a config edit)."""
    parts = dotted.split(".")
    if parts[0] != "stages" or len(parts) < 2:
        return
    stages = raw.get("stages") or {}
    if isinstance(stages, dict) and parts[1] not in stages:
        raise ConfigError(
            f"--set {dotted}: stage {parts[1]!r} is not in the config (its stages: "
            f"{', '.join(map(str, stages)) or 'none'}); add the stage to the config file to use it"
        )


def _parse_set_value(key: str, value: str) -> Any:
    if value == "":
        return ""
    try:
        return yaml.load(value, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {key}: not a valid YAML value: {error}") from None


def command_line_inputs(configured: Any, paths: str | Sequence[str]) -> list[dict[str, Any]]:
    """`--input` paths (repeatable): each becomes its own input, with the settings of the config's first input
    and its own source name (a source given in the config would otherwise name several inputs as one)."""
    paths = [paths] if isinstance(paths, str) else list(paths)
    first = configured[0] if isinstance(configured, list) and configured else configured
    base = dict(first) if isinstance(first, dict) else {}
    if len(paths) > 1:
        base.pop("source", None)
    # A path given on the command line is relative to the working directory.
    return [{**base, "path": str(Path(p).resolve()) if "://" not in p else p} for p in paths]


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
