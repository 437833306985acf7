"""Rehydration weights (FineWeb-2): the step table, the published preset, FineWeb-2's weight computation, and the
`rehydrate` row stage without Spark."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tests.conftest import SHARED_DATA
from thresher.select.rehydration import StepTable, preset_languages, preset_table, weights_from_rates
from thresher.stages.fused import run_row_stages
from thresher.stages.selection.rehydrate import Rehydrate, RehydrateParams

# FineWeb-2's published Italian table, up to 10 copies (weights/up_to_10_reps.json; its README's example differs
# only at 75/76 and 122/123).
ITALIAN_UP_TO_10 = {
    1: 1, 2: 3, 3: 4, 4: 5, 5: 6, 7: 7, 8: 8, 11: 9, 17: 10, 26: 9, 31: 8, 46: 7, 52: 6, 63: 5, 76: 4, 96: 3,
    118: 2, 122: 3, 125: 2, 145: 1,
}  # fmt: skip


def test_step_table_reads_each_size_up_to_the_next_listed_one():
    table = StepTable(ITALIAN_UP_TO_10)
    # "documents that had 16-24 duplicates should be repeated 9 times (weight=10)": cluster sizes 17 to 25.
    assert [table.repeat(size) for size in (16, 17, 25, 26)] == [9, 10, 10, 9]
    assert [table.repeat(size) for size in (1, 2, 6, 144, 145, 10_000)] == [1, 3, 6, 2, 1, 1]
    assert table.repeat(None) == 1 and table.repeat(0) == 1 and StepTable({}).repeat(50) == 1
    assert StepTable({5: 2}).repeat(4) == 1


def test_the_preset_is_fineweb2s_published_table():
    assert preset_table(10, "ita_Latn") == ITALIAN_UP_TO_10
    assert preset_table(3, "ita_Latn") == {1: 1, 3: 2, 9: 3, 38: 2, 39: 3, 40: 2, 98: 1, 103: 2, 105: 1}
    languages = preset_languages()
    assert len(languages) == 1856 and "eng_Latn" not in languages and preset_table(10, "eng_Latn") is None
    assert max(max(preset_table(3, lang).values()) for lang in languages) == 3
    with pytest.raises(ValueError, match="3 to 10"):
        preset_table(11, "ita_Latn")


def test_weights_from_rates_interpolates_between_the_global_and_the_lowest_rate():
    # Sizes 1..7: size 4 has the lowest rate (10 copies), sizes 3 and 5 are 2/3 of the way from the global rate
    # (7 copies), sizes at or above the global rate (50) one copy: [1, 1, 7, 10, 7, 1, 1]; the moving average over
    # 5 sizes gives 26/5 = 5.2 to sizes 3-5; the 2 sizes at each edge keep their own value.
    rates = [60.0, 55.0, 30.0, 20.0, 30.0, 50.0, 70.0]
    assert weights_from_rates(list(range(1, 8)), rates, global_rate=50.0, max_repeat=10) == {1: 1, 3: 5, 6: 1}
    assert weights_from_rates([1, 2], [40.0, 60.0], 50.0, 3, window=1) == {1: 3, 2: 1}


@pytest.mark.skipif(
    not (SHARED_DATA / "fineweb2" / "rehydration" / "distributions" / "ita_Latn.json").is_file(),
    reason="needs ../shared/data/fineweb2/rehydration (FineWeb-2's filtering rates per cluster size)",
)
def test_weights_from_fineweb2s_filtering_rates_equal_its_published_weights():
    folder = SHARED_DATA / "fineweb2" / "rehydration"
    for lang in ("ita_Latn", "deu_Latn", "cmn_Hani", "swh_Latn"):
        data = json.loads((folder / "distributions" / f"{lang}.json").read_text())
        sizes = data["cluster_sizes"] + [data["tail_threshold"]]
        rates = data["cluster_removal_rates"] + [data["tail_removal_rate"]]
        for max_repeat in (3, 10):
            computed = weights_from_rates(sizes, rates, data["global_removal_rate"], max_repeat)
            assert computed == preset_table(max_repeat, lang), (lang, max_repeat)


def _repeats(params: RehydrateParams, docs: list[tuple[int | None, str | None]]) -> list[tuple[int, str]]:
    rows = [
        {"text": "x", "minhash_dedup": {"cluster_size": size}, "language": {"lang": lang, "script": None}}
        for size, lang in docs
    ]
    out = run_row_stages([Rehydrate(params)], rows)
    return [(r["rehydrate"]["repeat"], r["rehydrate"]["table"]) for r in out]


def test_rehydrate_stage_picks_the_table_of_each_documents_language():
    params = RehydrateParams(languages={"de": {1: 1, 3: 2}}, table={1: 1, 2: 2})
    got = _repeats(params, [(17, "it"), (17, "ita"), (2, "de"), (5, "en"), (5, None), (None, "it")])
    assert got == [
        (10, "ita_Latn"),
        (10, "ita_Latn"),
        (1, "languages.de"),
        (2, "table"),
        (2, "table"),
        (1, "ita_Latn"),
    ]
    capped = RehydrateParams(max_repeat=3)
    assert _repeats(capped, [(17, "it"), (9, "it"), (2, "it")]) == [(3, "ita_Latn"), (3, "ita_Latn"), (1, "ita_Latn")]


def test_rehydrate_params_refuse_what_would_be_silently_wrong():
    with pytest.raises(ValidationError, match="3 to 10"):
        RehydrateParams(max_repeat=12)
    with pytest.raises(ValidationError, match="exceed max_repeat"):
        RehydrateParams(preset=None, max_repeat=2, table={1: 1, 5: 4})
    with pytest.raises(ValidationError, match="sizes start at 1"):
        RehydrateParams(table={0: 2})
    with pytest.raises(ValidationError, match="not a language code"):
        RehydrateParams(languages={"klingonese": {1: 2}})
    assert RehydrateParams(preset=None, max_repeat=20, table={1: 1, 4: 20}).max_repeat == 20
