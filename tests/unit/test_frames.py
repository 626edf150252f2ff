"""Frame builders: exact columns and dtypes from records, empty results, dynamic keys."""

from __future__ import annotations

import pandas as pd
import pytest

from lfnb.frames.builder import (
    DTYPES,
    FrameBuilder,
    build_frame,
    columns_for,
    convert,
    dtype_table,
    empty_frame,
    from_chunks,
    to_chunk,
)
from lfnb.frames.columns import OBSERVATION_GROUPS, SPECS, observation_columns

DEFAULT_OBS_COLUMNS = [
    "id", "traceId", "startTime", "endTime", "projectId", "parentObservationId", "type",
    "name", "level", "statusMessage", "version", "environment", "bookmarked", "public", "userId", "sessionId",
    "isRootObservation",
    "usageDetails.input", "usageDetails.output", "usageDetails.total",
    "costDetails.input", "costDetails.output", "costDetails.total", "totalCost", "usagePricingTierName",
    "latency", "timeToFirstToken",
]


def obs(i, **extra):
    rec = {"id": f"o{i}", "traceId": "t1", "startTime": "2026-10-31T10:00:00.123Z", "endTime": None,
           "projectId": "p", "parentObservationId": None, "type": "GENERATION", "name": "chat", "level": "DEFAULT",
           "statusMessage": None, "version": None, "environment": "default", "bookmarked": False, "public": False,
           "userId": "u1", "sessionId": None, "isRootObservation": True,
           "usageDetails": {"input": 10, "output": 5, "total": 15}, "costDetails": {"input": 0.5, "total": 0.75},
           "totalCost": 0.75, "latency": 1.25, "timeToFirstToken": None, "metadata": {"a": {"b": 1}}}
    rec.update(extra)
    return rec


def test_observation_default_columns_and_dtypes():
    df = build_frame("observations", [obs(1), obs(2)])
    assert list(df.columns) == DEFAULT_OBS_COLUMNS
    dtypes = {c: str(t) for c, t in df.dtypes.items()}
    assert dtypes["id"] == "str"
    assert dtypes["startTime"] == "datetime64[us, UTC]"
    assert dtypes["endTime"] == "datetime64[us, UTC]"
    assert dtypes["bookmarked"] == "boolean"
    assert dtypes["usageDetails.input"] == "Int64"
    assert dtypes["costDetails.total"] == "Float64"
    assert dtypes["latency"] == "Float64"
    assert df.loc[0, "startTime"] == pd.Timestamp("2026-10-31T10:00:00.123Z")
    assert df["usageDetails.total"].tolist() == [15, 15]
    assert df["costDetails.output"].isna().all()
    assert df["endTime"].isna().all()


def test_metadata_stays_a_dict_and_io_is_text():
    df = build_frame("observations", [obs(1, input='{"q": 1}')], fields=("core", "metadata", "io"))
    assert df.loc[0, "metadata"] == {"a": {"b": 1}}
    assert df["metadata"].dtype == object
    assert df.loc[0, "input"] == '{"q": 1}'
    assert str(df["input"].dtype) == "str"


def test_price_strings_and_numeric_strings_are_parsed():
    recs = [obs(1, modelId="m", inputPrice="0.0001", outputPrice="2e-6", totalPrice=None,
                usageDetails={"input": "7"}), obs(2, inputPrice=None, inputPrice2=1)]
    df = build_frame("observations", recs, fields=("core", "model", "usage"))
    assert str(df["inputPrice"].dtype) == "Float64"
    assert df["inputPrice"].tolist()[0] == pytest.approx(0.0001)
    assert df["outputPrice"].tolist()[0] == pytest.approx(2e-6)
    assert df.loc[0, "usageDetails.input"] == 7 and str(df["usageDetails.input"].dtype) == "Int64"


def test_provided_model_name_of_the_openapi_text_becomes_model():
    from lfnb.reads.generations import _observations_v2

    b = FrameBuilder(observation_columns(("core", "model")))
    b.add(_observations_v2([obs(1, providedModelName="gpt-4o"), obs(2, providedModelName=None, model="o1")]))
    df = b.frame()
    assert df["model"].tolist() == ["gpt-4o", "o1"]
    assert "providedModelName" not in df.columns


def test_dynamic_usage_keys_become_columns_and_are_back_filled():
    b = FrameBuilder(columns_for("observations", ("core", "usage")))
    b.add([obs(1)])
    b.add([obs(2, usageDetails={"input": 1, "cache_read": 4})])
    df = b.frame()
    assert "usageDetails.cache_read" in df.columns
    assert str(df["usageDetails.cache_read"].dtype) == "Int64"
    assert df["usageDetails.cache_read"].isna().tolist() == [True, False]
    assert df["usageDetails.cache_read"].iloc[1] == 4


@pytest.mark.parametrize("resource", ["observations", *SPECS])
def test_empty_frame_has_every_column_with_its_dtype(resource):
    df = empty_frame(resource)
    cols = columns_for(resource)
    assert list(df.columns) == [c for c, _ in cols]
    assert len(df) == 0
    for col, code in cols:
        assert df[col].dtype == pd.Series(dtype=DTYPES[code]).dtype, col


def test_every_spec_row_is_valid():
    for resource, cols in {**SPECS, **OBSERVATION_GROUPS}.items():
        names = [c for c, _ in cols]
        assert len(names) == len(set(names)), resource
        assert all(code in DTYPES for _, code in cols), resource


def test_score_frame_values():
    recs = [{"id": "s1", "name": "acc", "value": 1, "dataType": "NUMERIC", "source": "API",
             "timestamp": "2026-10-30T00:00:00Z", "environment": "default", "traceId": "t",
             "metadata": None, "createdAt": "2026-10-30T00:00:00.000Z", "updatedAt": "2026-10-30T00:00:00.000Z"},
            {"id": "s2", "name": "ok", "value": None, "stringValue": "yes", "dataType": "CATEGORICAL"}]
    df = build_frame("scores", recs)
    assert list(df.columns) == [c for c, _ in SPECS["scores"]]
    assert df["value"].tolist()[0] == 1.0 and pd.isna(df["value"].tolist()[1])
    assert df["stringValue"].tolist()[1] == "yes"
    assert str(df["timestamp"].dtype) == "datetime64[us, UTC]"


def test_booleans_from_strings():
    df = build_frame("score_configs", [{"id": "c", "isArchived": "true"}, {"id": "d", "isArchived": "false"}])
    assert df["isArchived"].tolist() == [True, False]


def test_tags_lists_kept_as_lists():
    df = build_frame("traces", [{"id": "t", "tags": ["a", "b"]}, {"id": "u", "tags": []}])
    assert df["tags"].tolist() == [["a", "b"], []]


def test_a_usage_key_first_seen_on_a_later_page_is_back_filled():
    b = FrameBuilder(columns_for("observations", ("core", "usage")))
    b.add([obs(1), obs(2)])
    b.add([obs(3, usageDetails={"reasoning": 9})])
    df = b.frame()
    assert df["id"].tolist() == ["o1", "o2", "o3"]
    assert df["usageDetails.reasoning"].isna().tolist() == [True, True, False]


def test_pages_mode_and_dtype_table():
    df = build_frame("comments", [[{"id": "1"}], [{"id": "2"}]], pages=True)
    assert df["id"].tolist() == ["1", "2"]
    table = dtype_table()
    assert list(table.columns) == ["resource", "column", "dtype"]
    row = table[(table.resource == "observations") & (table.column == "usageDetails.input")]
    assert row["dtype"].tolist() == ["Int64"]


def test_unknown_field_group_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown field group\\(s\\) cost; valid: core, basic"):
        observation_columns(("core", "cost"))


def test_pages_become_one_buffer_per_number_column_and_arrow_chunks_for_text():
    """Numbers, booleans and times go into one growing numpy buffer per column as pages arrive (their
    per-page chunks are freed at once, issue 14: peak memory); text stays Arrow chunks (zero-copy)."""
    import numpy as np
    import pyarrow as pa

    b = FrameBuilder(columns_for("observations", ("core", "usage")))
    for k in range(7):
        b.add([obs(10 * k + i, usageDetails={"input": 10 * k + i, "late": k} if k >= 3 else {"input": 10 * k + i})
               for i in range(3)])
    store = b._chunks["usageDetails.input"]
    assert isinstance(store.values, np.ndarray) and store.n == 21
    assert len(b._chunks["id"]) == 7 and all(isinstance(c, pa.Array) for c in b._chunks["id"])
    df = b.frame()
    assert df["usageDetails.input"].tolist() == [10 * k + i for k in range(7) for i in range(3)]
    late = [None if pd.isna(v) else v for v in df["usageDetails.late"]]
    assert late == [None] * 9 + [k for k in range(3, 7) for _ in range(3)]
    assert str(df["usageDetails.input"].dtype) == "Int64"


@pytest.mark.parametrize("code, values", [
    ("int", [1, None, 2**62 + 1, "7", 3.0, None]),
    ("float", [1.5, None, 2, "0.25", "x", 1e300]),
    ("float", [float("nan"), 1.0, None, float("inf")]),
    ("price", ["0.000002", None, 1, "1e-7"]),
    ("bool", [True, None, False, "true", 0]),
    ("time", ["2026-10-01T00:00:00.123Z", None, "2026-10-02", "2026-10-01T00:00:00.123456Z"]),
])
def test_a_column_built_page_by_page_equals_one_conversion_of_its_chunks(code, values):
    """Pages of one value each (some take the slow path) give the column that one conversion of the
    pages' Arrow chunks gives (the builder before issue 14's buffers)."""
    b = FrameBuilder([("v", code)], dynamic=False)
    for v in values:
        b.add([{"v": v}])
    got = b.frame()["v"]
    want = from_chunks([to_chunk([v], code) for v in values], code)
    assert got.dtype == want.dtype and got.equals(want), (got.tolist(), want.tolist())


def test_large_counts_with_missing_values_stay_exact():
    """An Int64 column with NA used to pass through float64 and lose the last digits."""
    assert convert([2**62 + 1, None], "int").tolist() == [2**62 + 1, pd.NA]



def test_pages_added_out_of_order_make_the_frame_of_the_sorted_pages():
    """Parallel windows add pages as they arrive, with their place (``order``); the frame is the one of the
    pages added in that order: rows, dtypes, and the dynamic columns in the order a sequential walk meets them."""
    cols = columns_for("observations", ("core", "usage"))
    pages = [[obs(10 * k + i, usageDetails={"input": k, f"k{k % 3}": i}, costDetails={"total": 0.5 * i}
                  if k != 2 else {"cache": 1.0}) for i in range(k % 3 + 1)] for k in range(6)]
    pages.insert(3, [])  # an empty page
    arrival = [5, 1, 3, 6, 0, 4, 2]
    unordered, ordered = FrameBuilder(cols), FrameBuilder(cols)
    for k in arrival:
        unordered.add(pages[k], order=k)
    for page in pages:
        ordered.add(page)
    got, want = unordered.frame(), ordered.frame()
    assert list(got.columns) == list(want.columns)
    assert got.equals(want)
    assert got["id"].tolist() == [r["id"] for page in pages for r in page]


def test_arrow_memory_comes_from_the_pool_the_reader_chose():
    import pyarrow as pa

    from lfnb.frames.builder import PARALLEL_POOL

    if pa.default_memory_pool().backend_name == "system":
        pytest.skip("this pyarrow has no allocator besides the system one")
    system = pa.system_memory_pool()
    cols = observation_columns(("core",))
    parallel = FrameBuilder(cols, pool=PARALLEL_POOL)     # parallel windows: the system allocator
    before = system.bytes_allocated()
    parallel.add([obs(i) for i in range(500)])
    assert system.bytes_allocated() > before              # the text chunks it keeps live there
    one_chain = FrameBuilder(cols)                        # one chain: pyarrow's default pool
    before = system.bytes_allocated()
    one_chain.add([obs(i) for i in range(500)])
    assert system.bytes_allocated() == before
    assert one_chain.frame().equals(parallel.frame())
