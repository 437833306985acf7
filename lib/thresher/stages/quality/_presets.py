"""Per-language settings files ("presets"): thresholds and stop words for many languages at once.

A settings file holds, per `lang_Script` code, the values of FineWeb-2's per-language settings (`language_score`,
`dup_line_frac`, `top_<n>_gram`, `dup_<n>_gram`, `line_punct_thr`, `new_line_ratio`, `min_avg_word_length`,
`max_avg_word_length`, `max_non_alpha_words_ratio`) and stop words, plus aliases: which `lang_Script` entry a code
without a script stands for ('fra' -> 'fra_Latn', the macrolanguage 'zho' -> 'cmn_Hani'). `preset: fineweb2`
reads the bundled file generated from FineWeb-2's published configs (bench/fineweb2_preset.py; ODC-By 1.0);
`preset: <path>` reads one that `thresher calibrate` wrote.

`stage_values` turns one language's settings into the parameters of the rule stages, the way FineWeb-2's
pipeline applies them (fineweb-2-pipeline.py): paragraph rules and Gopher's duplicated-line-characters rule off,
FineWeb's short-line rule off and its duplicated-characters ratio at 0.1, at least 2 stop words.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import ValidationInfo

from thresher.core.paths import resolve_path
from thresher.text.langcodes import parse

PRESET_DIR = Path(str(files("thresher") / "resources" / "presets"))
BUNDLED_PRESETS = ("fineweb2",)
FORMAT = "thresher-language-settings/1"
NBSP = "\u00a0"

# Settings FineWeb-2 fixed for every language (fineweb-2-pipeline.py), as thresher parameters.
FIXED_VALUES: dict[str, Any] = {
    "dup_para_frac": None,
    "dup_para_char_frac": None,
    "dup_line_char_frac": None,
    "short_line_thr": 1.0,
    "char_duplicates_ratio": 0.1,
    "min_stop_words": 2,
}


@dataclass
class LanguageSettings:
    name: str
    source: str
    # lang_Script -> setting name -> value (None: not set for that language).
    values: dict[str, dict[str, Any]]
    stop_words: dict[str, list[str]] = field(default_factory=dict)
    # Code without script or macrolanguage (ISO 639-3) -> lang_Script entry.
    aliases: dict[str, str] = field(default_factory=dict)

    def key(self, language: str) -> str | None:
        """The entry for a document language ('fr', 'fra', 'fra_Latn', 'zh' ...), None when there is none."""
        code = parse(language)
        if code.script is not None:
            exact = f"{code.iso3}_{code.script}"
            if exact in self.values:
                return exact
        return self.aliases.get(code.iso3) or (code.lang_script if code.lang_script in self.values else None)

    def stage_values(self, key: str) -> dict[str, Any]:
        """The thresher rule-stage parameters of one entry (each stage takes the ones it has)."""
        settings = self.values[key]
        out: dict[str, Any] = dict(FIXED_VALUES)
        renames = {
            "dup_line_frac": "dup_line_frac",
            "line_punct_thr": "line_punct_thr",
            "new_line_ratio": "new_line_ratio",
            "min_avg_word_length": "min_avg_word_length",
            "max_avg_word_length": "max_avg_word_length",
            # datatrove's `max_non_alpha_words_ratio` is the smallest share of words with a letter.
            "max_non_alpha_words_ratio": "min_alpha_words_ratio",
        }
        for name, param in renames.items():
            if settings.get(name) is not None:
                out[param] = settings[name]
        # FineWeb-2 writes -1 for "no line-punctuation rule"; thresher's off value is 0.
        if "line_punct_thr" in out and out["line_punct_thr"] < 0:
            out["line_punct_thr"] = 0.0
        top = {int(k[4:-5]): v for k, v in settings.items() if k.startswith("top_") and v is not None}
        dup = {int(k[4:-5]): v for k, v in settings.items() if k.startswith("dup_") and k.endswith("_gram")}
        # A share above 1 can never be reached: FineWeb-2 writes such values (e.g. top_2_gram 1.334 for qug_Latn)
        # where the rule never fires, so the n-gram is left out (the parameters take shares up to 1).
        if top:
            out["top_n_grams"] = {n: v for n, v in top.items() if v <= 1}
        if dup:
            out["dup_n_grams"] = {n: v for n, v in dup.items() if v is not None and v <= 1}
        if key in self.stop_words:
            out["stop_words"] = list(self.stop_words[key])
        return out

    def language_score(self, key: str) -> float | None:
        return self.values[key].get("language_score")

    def to_json(self) -> dict[str, Any]:
        names = sorted({name for v in self.values.values() for name in v})
        return {
            "format": FORMAT,
            "name": self.name,
            "source": self.source,
            "fields": names,
            "values": {k: [v.get(n) for n in names] for k, v in sorted(self.values.items())},
            # Stop words joined by spaces (the few with a space inside keep it as a no-break space).
            "stop_words": {k: " ".join(w.replace(" ", NBSP) for w in v) for k, v in sorted(self.stop_words.items())},
            "aliases": self.aliases,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], origin: str) -> LanguageSettings:
        if data.get("format") != FORMAT:
            raise ValueError(f"{origin}: not a thresher language settings file (format {data.get('format')!r})")
        names = data["fields"]
        return cls(
            name=data.get("name", origin),
            source=data.get("source", ""),
            values={k: _present(dict(zip(names, row, strict=True))) for k, row in data["values"].items()},
            stop_words={k: [w.replace(NBSP, " ") for w in v.split(" ") if w] for k, v in data["stop_words"].items()},
            aliases=dict(data.get("aliases", {})),
        )

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
        if path.suffix == ".gz":
            payload = gzip.compress(payload, mtime=0)
        path.write_bytes(payload)
        return path


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def preset_path(preset: str) -> str:
    """The file of a preset: a bundled name ('fineweb2') or a path."""
    if preset in BUNDLED_PRESETS:
        return str(PRESET_DIR / f"{preset}.json.gz")
    return preset


@cache
def load_settings(preset: str) -> LanguageSettings:
    """The settings of a bundled preset name or a settings file (JSON, optionally gzipped); cached per process."""
    path = preset_path(preset)
    if not Path(path).is_file():
        allowed = ", ".join(BUNDLED_PRESETS)
        raise ValueError(f"preset {preset!r} is neither a bundled preset ({allowed}) nor an existing settings file")
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"preset {preset!r}: not JSON ({error})") from None
    return LanguageSettings.from_json(data, origin=path)


def validate_preset(value: str | None, info: ValidationInfo) -> str | None:
    """A `preset:` value of a config: a bundled preset's name, or a settings file (relative to the config file)
    that loads; the field validator of every stage that takes one."""
    if value is None:
        return None
    if value not in BUNDLED_PRESETS:
        base_dir = (info.context or {}).get("base_dir")
        value = resolve_path(value, Path(base_dir) if base_dir else None)
    load_settings(value)
    return value
