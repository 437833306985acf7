"""Generate thresher's `fineweb2` preset (lib/thresher/resources/presets/fineweb2.json.gz) from FineWeb-2's published
per-language filter settings (../shared/data/fineweb2/configs/*.yml, ODC-By 1.0) and its language distribution
(which subset of a language to use when a code names no script, or names a macrolanguage).

    .venv/bin/python bench/fineweb2_preset.py [--shared ../shared/data] [--out lib/thresher/resources/presets]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from bench._common import SHARED_DATA
from thresher.stages.quality._presets import PRESET_DIR, LanguageSettings
from thresher.text.langcodes import individuals

ATTRIBUTION = (
    "Per-language settings of FineWeb 2 (Penedo et al. 2025, 'FineWeb2: One Pipeline to Scale Them All', "
    "arXiv:2506.20920), from github.com/huggingface/fineweb-2 configs/*.yml, licensed ODC-By 1.0 "
    "(opendatacommons.org/licenses/by/1-0); converted to this file by thresher's bench/fineweb2_preset.py."
)


# Macrolanguages whose usual written standard is not their largest FineWeb-2 member (Malay is not Indonesian;
# lid.176's 'ku' is Northern Kurdish in Latin script).
STANDARD_MEMBERS = {"msa": "zsm", "kur": "kmr"}
# Languages FineWeb-2 files under another code: GlotLID labels Tagalog text `fil_Latn` (Filipino, the standard
# based on Tagalog) and FineWeb-2 has no `tgl` subset, while lid.176 says 'tl' (Tagalog) for the same text.
SAME_LANGUAGE = {"tgl": "fil"}


def _config_values(config: dict) -> dict[str, object]:
    values: dict[str, object] = {
        "language_score": config["language_score"],
        "dup_line_frac": config["dup_line_frac"],
        "line_punct_thr": config["line_punct_thr"],
        "new_line_ratio": config["new_line_ratio"],
        "min_avg_word_length": config["min_avg_word_length"],
        "max_avg_word_length": config["max_avg_word_length"],
        "max_non_alpha_words_ratio": config["max_non_alpha_words_ratio"],
    }
    values |= {f"top_{n}_gram": limit for n, limit in config["top_n_grams"]}
    values |= {f"dup_{n}_gram": limit for n, limit in config["dup_n_grams"]}
    return values


def build(shared: Path) -> LanguageSettings:
    configs = sorted((shared / "fineweb2" / "configs").glob("*.yml"))
    if not configs:
        raise SystemExit(f"no FineWeb-2 configs under {shared / 'fineweb2' / 'configs'}")
    words: dict[str, int] = defaultdict(int)
    with open(shared / "fineweb2" / "fineweb2-language-distribution.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["words"].isdigit():
                words[row["subset"]] += int(row["words"])
    values: dict[str, dict[str, object]] = {}
    stop_words: dict[str, list[str]] = {}
    for path in configs:
        config = yaml.safe_load(path.read_text())
        values[path.stem] = _config_values(config)
        stop_words[path.stem] = [str(w) for w in config["stopwords"]]
    # A code without a script (or a macrolanguage's code) stands for the language's largest FineWeb-2 subset.
    by_language: dict[str, list[str]] = defaultdict(list)
    for name in values:
        by_language[name.split("_")[0]].append(name)
    aliases = {lang: max(names, key=lambda n: (words.get(n, 0), n)) for lang, names in by_language.items()}
    for macro in {m for lang in by_language for m in [_macro_of(lang)] if m and m not in aliases}:
        standard = STANDARD_MEMBERS.get(macro)
        members = [aliases[m] for m in individuals(macro) if m in aliases and standard in (None, m)]
        if members:
            aliases[macro] = max(members, key=lambda n: (words.get(n, 0), n))
    for language, filed_as in SAME_LANGUAGE.items():
        if language not in aliases and filed_as in aliases:
            aliases[language] = aliases[filed_as]
    aliases = {k: v for k, v in sorted(aliases.items())}
    return LanguageSettings(name="fineweb2", source=ATTRIBUTION, values=values, stop_words=stop_words, aliases=aliases)


def _macro_of(language: str) -> str | None:
    from thresher.text.langcodes import macrolanguage

    return macrolanguage(language)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED_DATA)
    parser.add_argument("--out", type=Path, default=PRESET_DIR)
    args = parser.parse_args(argv)
    settings = build(args.shared)
    path = settings.write(args.out / "fineweb2.json.gz")
    print(f"{path}: {len(settings.values)} languages, {len(settings.aliases)} aliases, {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
