"""Rehydration on Spark: minhash_dedup's cluster sizes -> `rehydrate.repeat` from FineWeb-2's Italian table ->
`budget` counting each kept document that many times (the stages as the runner chains them: each gets the
documents the previous one kept)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from thresher.select.rehydration import StepTable, preset_table
from thresher.stages.base import StageContext
from thresher.stages.fused import FusedPass
from thresher.stages.minhash_dedup import MinHashDedup
from thresher.stages.selection.budget import Budget, BudgetParams
from thresher.stages.selection.rehydrate import Rehydrate, RehydrateParams

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
    rows = [
        (f"{key}{i:02d}", f"{TEXTS[key]} {i}", {"lang": "it", "script": None})
        for key, count in COPIES.items()
        for i in range(count)
    ]
    frame = spark.createDataFrame(rows, "doc_id string, text string, language struct<lang: string, script: string>")
    italian = StepTable(preset_table(10, "ita_Latn"))
    assert {key: italian.repeat(count) for key, count in COPIES.items()} == {"a": 10, "b": 4, "c": 1}

    def ctx(name: str) -> StageContext:
        return StageContext(spark, "test", "filter", 42, str(tmp_path / name))

    deduped, _ = MinHashDedup().apply(frame.repartition(2), ctx("minhash"))
    survivors = deduped.where(F.col("minhash_dedup.keep"))
    rehydrate = FusedPass([Rehydrate(RehydrateParams(max_repeat=10))], "filter")
    rehydrated = survivors.mapInArrow(rehydrate, rehydrate.output_schema(survivors.schema))
    # Ranked by doc_id: a00 (10 copies) and b00 (4) fill the 14 documents; c00 would be the 15th.
    params = BudgetParams(unit="docs", budget=14, repeat_by="rehydrate.repeat")
    selected, report = Budget(params).apply(rehydrated, ctx("budget"))
    got = {
        r["doc_id"]: tuple(r)[1:]
        for r in selected.select(
            "doc_id", "rehydrate.cluster_size", "rehydrate.repeat", "rehydrate.table", "budget.repeat", "budget.keep"
        ).collect()
    }
    assert got == {
        "a00": (17, 10, "ita_Latn", 10, True),
        "b00": (3, 4, "ita_Latn", 4, True),
        "c00": (1, 1, "ita_Latn", 1, False),
    }
    assert report.metrics["selected_docs"] == 2 and report.metrics["selected_copies"] == 14
    # With at most 2 epochs per document, the same budget reaches c00: 2 + 2 + 1 copies.
    capped, report = Budget(params.model_copy(update={"max_repeat": 2})).apply(rehydrated, ctx("capped"))
    assert {r["doc_id"] for r in capped.where("budget.keep").collect()} == {"a00", "b00", "c00"}
    assert report.metrics["selected_copies"] == 5
