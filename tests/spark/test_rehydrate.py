"""Rehydration through the runner: minhash_dedup's cluster sizes -> `rehydrate.repeat` from FineWeb-2's Italian
table -> `budget` counting each kept document that many times; the copies are in kept/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thresher.conf import load_config
from thresher.io.delta import DeltaStore, resolve_format
from thresher.runner import run_pipeline
from thresher.select.rehydration import StepTable, preset_table

pytestmark = pytest.mark.spark

# Three unrelated Italian texts (written for this test): the first is copied 17 times, the second 3 times, the
# third once; each copy differs by a trailing number, so MinHash finds 17 and 3 near-duplicates.
TEXTS = {
    "a": "Il piccolo paese si trova tra le colline e il mare. Ogni mattina i pescatori escono con le loro barche "
    "e tornano a mezzogiorno con il pesce fresco, che le donne vendono nella piazza principale vicino alla chiesa. "
    "Nel pomeriggio i bambini giocano lungo la spiaggia mentre gli anziani parlano all'ombra degli alberi.",
    "b": "La biblioteca comunale resta aperta tutti i giorni dalle nove alle diciannove. Gli studenti possono "
    "consultare i libri nella sala di lettura oppure prenderli in prestito per tre settimane, presentando la "
    "tessera che viene rilasciata gratuitamente a chi abita in città o frequenta una scuola della provincia.",
    "c": "Per preparare una buona salsa di pomodoro servono pochi ingredienti: pomodori maturi, olio d'oliva, uno "
    "spicchio d'aglio e qualche foglia di basilico. Si cuoce tutto a fuoco lento per almeno mezz'ora, mescolando "
    "spesso, e alla fine si aggiunge il sale secondo il gusto di ciascuno.",
}
COPIES = {"a": 17, "b": 3, "c": 1}


def test_cluster_sizes_become_repeats_that_budget_counts(spark, tmp_path: Path) -> None:
    corpus = tmp_path / "in.jsonl"
    rows = [
        {"id": f"{key}{i:02d}", "text": f"{TEXTS[key]} {i}"} for key, count in COPIES.items() for i in range(count)
    ]
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    italian = StepTable(preset_table(10, "ita_Latn"))
    expected = {f"{key}00": italian.repeat(count) for key, count in COPIES.items()}
    assert expected == {"a00": 10, "b00": 4, "c00": 1}
    config = load_config(
        data={
            "input": {"path": str(corpus), "format": "jsonl"},
            "stages": {
                "language": {"threshold": 0.5},
                "minhash_dedup": {},
                "rehydrate": {"preset": "fineweb2", "max_repeat": 10},
                # Ranked by doc_id: a00 (10 copies) and b00 (4) fill the 14 documents; c00 would be the 15th.
                "budget": {"unit": "docs", "budget": 14, "repeat_by": "rehydrate.repeat"},
            },
        },
        output=str(tmp_path / "run"),
    )
    result = run_pipeline(config, spark)
    store = DeltaStore(spark, resolve_format(spark, "auto"))
    kept = store.read(str(tmp_path / "run" / "kept")).select(
        "doc_id", "language.lang", "rehydrate.cluster_size", "rehydrate.repeat", "rehydrate.table", "budget.repeat"
    )
    got = {r["doc_id"]: tuple(r)[1:] for r in kept.collect()}
    assert got == {"a00": ("it", 17, 10, "ita_Latn", 10), "b00": ("it", 3, 4, "ita_Latn", 4)}
    excluded = store.read(str(tmp_path / "run" / "excluded"))
    over = {
        r["doc_id"]: r["repeat"]
        for r in excluded.where("stage = 'budget'").select("doc_id", "rehydrate.repeat").collect()
    }
    assert over == {"c00": 1}
    budget = {row["stage"]: row for row in result.stats}["budget"]
    assert budget["docs_out"] == 2
