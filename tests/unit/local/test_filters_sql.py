"""Filter conditions → DuckDB SQL: every type and operator, checked against pandas.

v2 observations go through the handler (``filter=`` JSON), traces and scores through
:func:`lfnb.local.filters_sql.where_sql` directly. Expected rows are computed from the
store's rows with pandas, independently of the SQL.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import pandas as pd
import pytest

from lfnb.local.filters_sql import condition_sql, parse_filter_param, where_sql
from lfnb.local.handlers import ApiProblem, ApiRequest
from lfnb.local.observations_v2 import get_observations_v2
from lfnb.local.store import Store


@pytest.fixture(scope="module")
def obs(store_small) -> pd.DataFrame:
    df = pd.DataFrame(store_small.fetch("SELECT * FROM observations"))
    df["meta"] = df["metadata"].map(lambda m: json.loads(m) if m else {})
    return df


def v2_ids(store, conds) -> set[str]:
    out, cursor = set(), None
    while True:
        q = [("limit", "1000"), ("fields", "core"), ("filter", json.dumps(conds))]
        reply = get_observations_v2(store, ApiRequest("GET", "/", {}, q + ([("cursor", cursor)] if cursor else [])))
        body = json.loads(reply.raw_json)
        out.update(r["id"] for r in body["data"])
        cursor = body["meta"].get("cursor")
        if cursor is None:
            return out


def _ms(t):
    return None if t is None or pd.isna(t) else int(pd.Timestamp(t).value // 1_000_000)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[0-9a-z\u0080-\U0010ffff]+", text)


def _matches(text, value, *, fold: bool) -> bool:
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return False
    t, v = (text.lower(), value.lower()) if fold else (text, value)
    toks = set(re.findall(r"[0-9A-Za-z\u0080-\U0010ffff]+", t))
    return v in t and all(tok in toks for tok in re.findall(r"[0-9A-Za-z\u0080-\U0010ffff]+", v))


def _s(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str)


def latency(df):
    return (df["end_time"].map(_ms) - df["start_time"].map(_ms)) / 1000


OBS_CASES = [
    # (condition, pandas mask over the observations frame)
    ({"type": "string", "column": "name", "operator": "=", "value": "reason"}, lambda d: d["name"] == "reason"),
    ({"type": "string", "column": "Name", "operator": "contains", "value": "gen"},
     lambda d: _s(d["name"]).str.contains("gen", regex=False)),
    ({"type": "string", "column": "name", "operator": "does not contain", "value": "gen"},
     lambda d: ~_s(d["name"]).str.contains("gen", regex=False)),
    ({"type": "string", "column": "name", "operator": "starts with", "value": "chat"},
     lambda d: _s(d["name"]).str.startswith("chat")),
    ({"type": "string", "column": "name", "operator": "ends with", "value": "-search"},
     lambda d: _s(d["name"]).str.endswith("-search")),
    ({"type": "string", "column": "name", "operator": "contains", "value": "GEN"},  # case-sensitive
     lambda d: _s(d["name"]).str.contains("GEN", regex=False)),
    ({"type": "stringOptions", "column": "environment", "operator": "any of", "value": ["staging", "development"]},
     lambda d: d["environment"].isin(["staging", "development"])),
    ({"type": "stringOptions", "column": "type", "operator": "none of", "value": ["GENERATION", "SPAN"]},
     lambda d: ~d["type"].isin(["GENERATION", "SPAN"])),
    ({"type": "stringOptions", "column": "tags", "operator": "any of", "value": ["agent", "batch"]},
     lambda d: d["tags"].map(lambda t: bool({"agent", "batch"} & set(t)))),
    ({"type": "arrayOptions", "column": "traceTags", "operator": "any of", "value": ["rag", "routing"]},
     lambda d: d["tags"].map(lambda t: bool({"rag", "routing"} & set(t)))),
    ({"type": "arrayOptions", "column": "tags", "operator": "none of", "value": ["rag"]},
     lambda d: d["tags"].map(lambda t: "rag" not in t)),
    ({"type": "arrayOptions", "column": "Tags", "operator": "all of", "value": ["agent", "support"]},
     lambda d: d["tags"].map(lambda t: {"agent", "support"} <= set(t))),
    ({"type": "arrayOptions", "column": "toolNames", "operator": "any of", "value": ["web_search"]},
     lambda d: d["tool_names"].map(lambda t: t is not None and "web_search" in t)),
    ({"type": "number", "column": "latency", "operator": ">", "value": 2.5}, lambda d: latency(d) > 2.5),
    ({"type": "number", "column": "Latency (s)", "operator": "<=", "value": 0.5}, lambda d: latency(d) <= 0.5),
    ({"type": "number", "column": "totalCost", "operator": ">=", "value": 0.001}, lambda d: d["total_cost"] >= 0.001),
    ({"type": "number", "column": "inputTokens", "operator": "<", "value": 500}, lambda d: d["input_usage"] < 500),
    ({"type": "number", "column": "promptVersion", "operator": "=", "value": 2}, lambda d: d["prompt_version"] == 2),
    ({"type": "number", "column": "timeToFirstToken", "operator": ">", "value": 0.3},
     lambda d: (d["completion_start_time"].map(_ms) - d["start_time"].map(_ms)) / 1000 > 0.3),
    ({"type": "datetime", "column": "startTime", "operator": ">=", "value": "2026-10-30T12:00:00.000Z"},
     lambda d: d["start_time"] >= datetime(2026, 10, 30, 12)),
    ({"type": "datetime", "column": "endTime", "operator": "<", "value": "2026-10-27T00:00:00+02:00"},
     lambda d: d["end_time"] < datetime(2026, 10, 26, 22)),
    ({"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True},
     lambda d: d["parent_observation_id"].isna()),
    ({"type": "boolean", "column": "hasParentObservation", "operator": "<>", "value": True},
     lambda d: d["parent_observation_id"].isna()),
    ({"type": "null", "column": "endTime", "operator": "is null", "value": ""}, lambda d: d["end_time"].isna()),
    ({"type": "null", "column": "model", "operator": "is not null", "value": ""}, lambda d: d["model"].notna()),
    ({"type": "null", "column": "parentObservationId", "operator": "is null", "value": ""},
     lambda d: d["parent_observation_id"].isna()),
    ({"type": "stringObject", "column": "metadata", "key": "provider", "operator": "=", "value": "google"},
     lambda d: d["meta"].map(lambda m: m.get("provider") == "google")),
    ({"type": "stringObject", "column": "metadata", "key": "region", "operator": "contains", "value": "west"},
     lambda d: d["meta"].map(lambda m: "west" in m.get("region", "\0"))),
    ({"type": "stringObject", "column": "metadata", "key": "region", "operator": "does not contain", "value": "eu"},
     lambda d: d["meta"].map(lambda m: "region" in m and "eu" not in m["region"])),
    ({"type": "stringObject", "column": "Metadata", "key": "worker", "operator": "starts with", "value": "worker-1"},
     lambda d: d["meta"].map(lambda m: m.get("worker", "").startswith("worker-1"))),
    ({"type": "stringObject", "column": "metadata", "key": "component", "operator": "ends with", "value": "an"},
     lambda d: d["meta"].map(lambda m: m.get("component", "").endswith("an"))),
    ({"type": "stringObject", "column": "metadata", "key": "region", "operator": "matches", "value": "west"},
     lambda d: d["meta"].map(lambda m: _matches(m.get("region"), "west", fold=False))),
    ({"type": "string", "column": "input", "operator": "matches", "value": "RESTORE a DELETED"},
     lambda d: d["input"].map(lambda t: _matches(t, "RESTORE a DELETED", fold=True))),
    ({"type": "string", "column": "output", "operator": "matches", "value": "SETTINGS, choose"},
     lambda d: d["output"].map(lambda t: _matches(t, "SETTINGS, choose", fold=True))),
    ({"type": "string", "column": "output", "operator": "matches", "value": "setting"},  # not a whole token
     lambda d: d["output"].map(lambda t: _matches(t, "setting", fold=True))),
    ({"type": "stringOptions", "column": "modelId", "operator": "any of", "value": ["nope"]},
     lambda d: d["internal_model_id"] == "nope"),
]


@pytest.mark.parametrize("cond, mask", OBS_CASES, ids=[f"{c['column']}-{c['operator']}" for c, _ in OBS_CASES])
def test_v2_observation_filters_match_pandas(store_small, obs, cond, mask):
    expected = set(obs.loc[mask(obs).fillna(False).astype(bool), "id"])
    assert v2_ids(store_small, [cond]) == expected


def test_most_cases_select_a_proper_subset(obs):
    sizes = [int(mask(obs).fillna(False).astype(bool).sum()) for _, mask in OBS_CASES]
    assert sum(0 < n < len(obs) for n in sizes) >= len(OBS_CASES) - 4


def test_input_equals_is_exact(store_small, obs):
    text = obs["input"].dropna().iloc[3]
    got = v2_ids(store_small, [{"type": "string", "column": "input", "operator": "=", "value": text}])
    assert got == set(obs.loc[obs["input"] == text, "id"]) != set()


def test_matches_treats_percent_and_underscore_literally():
    store = Store()
    rows = [("a", '"x_y 100% sure"'), ("b", '"xay 1000 sure"'), ("c", '"X_Y and more"')]
    with store.write() as cur:
        for oid, text in rows:
            cur.execute("INSERT INTO observations (id, trace_id, trace_id_hash, project_id, type, start_time, level,"
                        " environment, input) VALUES (?, 't', 1, 'p', 'SPAN', TIMESTAMP '2026-01-01', 'DEFAULT',"
                        " 'default', ?)", [oid, text])
    assert v2_ids(store, [{"type": "string", "column": "input", "operator": "matches", "value": "x_y"}]) == {"a", "c"}
    assert v2_ids(store, [{"type": "string", "column": "input", "operator": "matches", "value": "100%"}]) == {"a"}


def test_values_are_bound_not_interpolated(store_small, obs):
    evil = "x' OR 1=1 --"
    assert v2_ids(store_small, [{"type": "string", "column": "name", "operator": "=", "value": evil}]) == set()
    sql, params = condition_sql({"type": "stringObject", "column": "metadata", "key": "k'; DROP TABLE x",
                                 "operator": "=", "value": evil}, "observations_v2")
    assert evil not in sql and "DROP" not in sql and evil in params


# --- traces and scores ---------------------------------------------------------------------------

def rows_where(store, table, alias, target, conds):
    normalised = parse_filter_param(json.dumps(conds), target)
    sql, params = where_sql(normalised, target, alias=alias)
    return {r["id"] for r in store.fetch(f"SELECT {alias}.id FROM {table} {alias} WHERE {sql}", params)}


@pytest.fixture(scope="module")
def traces(store_small) -> pd.DataFrame:
    t = pd.DataFrame(store_small.fetch("SELECT * FROM traces"))
    o = pd.DataFrame(store_small.fetch("SELECT * FROM observations"))
    agg = o.groupby("trace_id").agg(
        errors=("level", lambda s: int((s == "ERROR").sum())),
        cost=("total_cost", "sum"), tokens=("total_usage", "sum"))
    return t.join(agg, on="id")


@pytest.fixture(scope="module")
def scores(store_small) -> pd.DataFrame:
    return pd.DataFrame(store_small.fetch("SELECT * FROM scores"))


def test_trace_filters(store_small, traces, scores):
    t = traces
    num = scores[scores["data_type"] == "NUMERIC"].groupby(["trace_id", "name"])["value"].mean()
    cat = scores[scores["data_type"] == "CATEGORICAL"]
    boo = scores[scores["data_type"] == "BOOLEAN"]
    name = t["name"].value_counts().index[0]
    cases = [
        ({"type": "stringOptions", "column": "traceName", "operator": "any of", "value": [name]}, t["name"] == name),
        ({"type": "arrayOptions", "column": "tags", "operator": "all of", "value": ["agent", "beta"]},
         t["tags"].map(lambda x: {"agent", "beta"} <= set(x))),
        ({"type": "datetime", "column": "Timestamp", "operator": "<", "value": "2026-10-28T00:00:00Z"},
         t["timestamp"] < datetime(2026, 10, 28)),
        ({"type": "number", "column": "errorCount", "operator": ">", "value": 0}, t["errors"] > 0),
        ({"type": "number", "column": "totalCost", "operator": ">", "value": 0.002}, t["cost"] > 0.002),
        ({"type": "number", "column": "totalTokens", "operator": ">=", "value": 3000}, t["tokens"] >= 3000),
        ({"type": "numberObject", "column": "scores_avg", "key": "helpfulness", "operator": ">=", "value": 0.7},
         t["id"].isin({tid for (tid, n), v in num.items() if n == "helpfulness" and v >= 0.7})),
        ({"type": "categoryOptions", "column": "score_categories", "key": "sentiment", "operator": "any of",
          "value": ["negative"]},
         t["id"].isin(cat.loc[(cat["name"] == "sentiment") & (cat["string_value"] == "negative"), "trace_id"])),
        ({"type": "booleanObject", "column": "score_booleans", "key": "exact-match", "operator": "=", "value": True},
         t["id"].isin(boo.loc[(boo["name"] == "exact-match") & (boo["value"] == 1), "trace_id"])),
    ]
    for cond, mask in cases:
        expected = set(t.loc[mask.fillna(False).astype(bool), "id"])
        assert expected, cond
        assert rows_where(store_small, "traces", "t", "traces", [cond]) == expected, cond


def test_score_filters(store_small, scores):
    s = scores
    cases = [
        ({"type": "number", "column": "value", "operator": ">=", "value": 0.8}, s["value"] >= 0.8),
        ({"type": "stringOptions", "column": "dataType", "operator": "none of", "value": ["NUMERIC"]},
         s["data_type"] != "NUMERIC"),
        ({"type": "stringOptions", "column": "Name", "operator": "any of", "value": ["tone", "sentiment"]},
         s["name"].isin(["tone", "sentiment"])),
        ({"type": "arrayOptions", "column": "trace_tags", "operator": "any of", "value": ["rag"]},
         s["tags"].map(lambda x: x is not None and "rag" in x)),
        ({"type": "datetime", "column": "timestamp", "operator": ">", "value": "2026-10-30T00:00:00Z"},
         s["timestamp"] > datetime(2026, 10, 30)),
    ]
    for cond, mask in cases:
        expected = set(s.loc[mask.fillna(False).astype(bool), "id"])
        assert expected, cond
        assert rows_where(store_small, "scores", "sc", "scores", [cond]) == expected, cond


def test_parse_filter_param_errors():
    assert parse_filter_param(None, "traces") == [] and parse_filter_param("", "scores") == []
    with pytest.raises(ApiProblem) as info:
        parse_filter_param('{"type": "string"}', "traces")
    assert info.value.body == {"message": "Invalid request data", "error": [
        {"code": "invalid_type", "expected": "array", "path": ["filter"], "message": "Expected array, received dict"}]}
    with pytest.raises(ApiProblem) as info:
        parse_filter_param(json.dumps([{"type": "number", "column": "latency", "operator": ">", "value": 1}]),
                           "scores")
    assert info.value.status == 400
    assert info.value.body == {"message": "Column latency does not match a UI / CH table mapping.",
                               "error": "InvalidRequestError"}


@pytest.mark.parametrize("cond, message", [
    ({"type": "number", "column": "userId", "operator": ">", "value": 1},
     "Invalid filter type 'number' for column 'userId'. Expected filter type 'string'."),
    ({"type": "string", "column": "Trace Tags", "operator": "=", "value": "rag"},
     "Invalid filter type 'string' for column 'Trace Tags'. Expected filter type 'arrayOptions'."),
])
def test_unchecked_v1_columns_mismatch_is_a_400(cond, message):
    normalised = parse_filter_param(json.dumps([cond]), "observations_v1")  # the server accepts the shape
    with pytest.raises(ApiProblem) as info:
        where_sql(normalised, "observations_v1")
    assert (info.value.status, info.value.body) == (400, {"message": message, "error": "InvalidRequestError"})


def test_unchecked_v1_columns_filter_like_their_data(store_small, obs):
    conds = [{"type": "arrayOptions", "column": "traceTags", "operator": "any of", "value": ["rag"]},
             {"type": "string", "column": "userId", "operator": "starts with", "value": "user-0000"}]
    got = rows_where(store_small, "observations", "o", "observations_v1", conds)
    mask = obs["tags"].map(lambda t: "rag" in t) & _s(obs["user_id"]).str.startswith("user-0000")
    assert got == set(obs.loc[mask, "id"]) != set()


_SAMPLE = {"string": "a", "stringObject": "a", "number": 1, "numberObject": 1, "boolean": True,
           "booleanObject": True, "null": "", "datetime": "2026-10-30T00:00:00.000Z",
           "stringOptions": ["a"], "categoryOptions": ["a"], "arrayOptions": ["a"]}
_TABLES = {"observations_v2": ("observations", "o"), "observations_v1": ("observations", "o"),
           "traces": ("traces", "t"), "scores": ("scores", "s")}


@pytest.mark.parametrize("target", sorted(_TABLES))
def test_every_accepted_column_type_operator_runs(store_small, target):
    """No combination the validator accepts may end in a DuckDB error (a 500 over HTTP)."""
    from lfnb.filters import column_choices, operators_for
    table, alias = _TABLES[target]
    ran = 0
    for col in column_choices(target):
        for ftype in col["filterTypes"]:
            for op in operators_for(ftype, target=target):
                value = "hello" if op == "matches" else _SAMPLE[ftype]
                cond = {"type": ftype, "column": col["id"], "operator": op, "value": value}
                if ftype in ("stringObject", "numberObject", "booleanObject", "categoryOptions"):
                    cond["key"] = "k"
                conds = [cond]
                if col["id"] in ("input", "output") and op not in ("=", "matches"):
                    conds.append({"type": "string", "column": col["id"], "operator": "=", "value": "x"})
                try:
                    normalised = parse_filter_param(json.dumps(conds), target)
                    sql, params = where_sql(normalised, target, alias=alias)
                except ApiProblem as problem:
                    assert problem.status == 400, (cond, problem.body)
                    continue
                store_small.fetch(f"SELECT count(*) FROM {table} {alias} WHERE {sql}", params)
                ran += 1
    assert ran > 100
