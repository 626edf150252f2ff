"""The local metrics engine against the same aggregations computed independently with pandas.

Each case is a Metrics API query and a pandas function over the store's tables
(read with plain ``SELECT *``) that computes the rows Langfuse would return. The
pandas side re-derives every measure from raw columns (times, details JSON) and
re-implements joins, windows, explosion and bucketing, so it shares no code with
the engine.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from lfnb.local.engine import query

W_FROM, W_TO = "2026-10-25T00:00:00Z", "2026-11-01T00:00:00Z"
NARROW_FROM, NARROW_TO = "2026-10-27T06:00:00Z", "2026-10-29T18:30:00.250Z"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert(None)


@pytest.fixture(scope="module")
def tables(store_small):
    def frame(table):
        df = pd.DataFrame(store_small.fetch(f"SELECT * FROM {table}"))
        for col in df.columns:
            if "time" in col or col == "timestamp":
                df[col] = pd.to_datetime(df[col])
        return df

    obs, traces, scores = frame("observations"), frame("traces"), frame("scores")
    ms = pd.Timedelta(milliseconds=1)
    start, end, cst = (obs[c].dt.floor("ms") for c in ("start_time", "end_time", "completion_start_time"))
    obs["latency"] = (end - start) / ms
    obs["ttft"] = (cst - start) / ms
    obs["streaming"] = (end - cst) / ms
    usage = obs["usage_details"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    cost = obs["cost_details"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    keyed = lambda d, word: sum(v for k, v in d.items() if word in k.lower())  # noqa: E731
    obs["in_tok"] = usage.map(lambda d: keyed(d, "input"))
    obs["out_tok"] = usage.map(lambda d: keyed(d, "output"))
    obs["tot_tok"] = usage.map(lambda d: d.get("total", 0))
    obs["in_cost"] = cost.map(lambda d: keyed(d, "input"))
    obs["out_cost"] = cost.map(lambda d: keyed(d, "output"))
    obs["usage"], obs["cost"] = usage, cost
    # v2 reads events_core.total_cost = ALIAS cost_details['total'] (0040_create_events_core.up.sql):
    # a missing cost is 0, not NULL (v1 observations.total_cost is Nullable: NULL)
    obs["cost_v2"] = cost.map(lambda d: float(d.get("total", 0.0)))
    secs = lambda a, b: (obs[b].dt.floor("s") - obs[a].dt.floor("s")) / pd.Timedelta(seconds=1)  # noqa: E731
    obs["tps"] = obs["tot_tok"] / secs("start_time", "end_time").replace(0, np.nan)
    obs["otps"] = obs["out_tok"] / secs("completion_start_time", "end_time").replace(0, np.nan)
    obs["n_tools"] = obs["tool_names"].map(lambda a: len(a) if isinstance(a, list) and len(a) else np.nan)
    obs["n_calls"] = obs["called_tool_names"].map(lambda a: len(a) if isinstance(a, list) and len(a) else np.nan)
    return {"obs": obs, "traces": traces, "scores": scores}


def window(df: pd.DataFrame, col: str, frm: str = W_FROM, to: str = W_TO) -> pd.DataFrame:
    t = df[col].dt.floor("ms")
    return df[(t >= ts(frm)) & (t <= ts(to))]


def nullif(s: pd.Series) -> pd.Series:
    return s.where(s.notna() & (s != ""), None)


def q(view: str, metrics, dims=(), frm=W_FROM, to=W_TO, **extra) -> dict:
    out = {"view": view, "dimensions": [{"field": d} for d in dims],
           "metrics": [{"measure": m, "aggregation": a} for m, a in metrics],
           "fromTimestamp": frm, "toTimestamp": to}
    out.update(extra)
    return out


def agg(df: pd.DataFrame, dims: list[str], specs: dict) -> pd.DataFrame:
    """Group (NaN/None kept as a group) and aggregate: specs = {out_col: (src_col, how)}."""
    df = df.reset_index(drop=True)  # exploded frames repeat index labels
    if not dims:
        return pd.DataFrame([{k: _apply(df[src], how) for k, (src, how) in specs.items()}])
    rows = []
    keys = df[dims].astype(object).where(df[dims].notna(), None)
    by = dims if len(dims) > 1 else dims[0]
    for key, idx in keys.groupby(by, dropna=False, sort=False).groups.items():
        key = key if len(dims) > 1 else (key,)
        part = df.loc[idx]
        row = {d: (None if (isinstance(k, float) and math.isnan(k)) else k) for d, k in zip(dims, key)}
        row.update({k: _apply(part[src], how) for k, (src, how) in specs.items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=dims + list(specs))


def _apply(s: pd.Series, how: str):
    s = s.dropna() if how != "rows" else s
    if how in ("count", "rows"):
        return len(s)
    if how == "uniq":
        return s.nunique()
    if not len(s):
        return None
    if how.startswith("p"):
        return float(np.quantile(s.astype(float), int(how[1:]) / 100))
    return getattr(s, how)()


def _norm(v):
    if isinstance(v, (list, tuple, np.ndarray)):
        return tuple(_norm(x) for x in v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(f"{float(v):.10g}")
    return v


def rows_of(df_or_rows) -> list[tuple]:
    records = df_or_rows.to_dict("records") if isinstance(df_or_rows, pd.DataFrame) else df_or_rows
    return [tuple((k, _norm(v)) for k, v in r.items()) for r in records]


def assert_same(got: list[dict], expected: pd.DataFrame, ordered: bool = False) -> None:
    assert got, "the engine returned no rows"
    assert list(got[0]) == list(expected.columns)
    g, e = rows_of(got), rows_of(expected)
    if not ordered:
        key = lambda r: repr(r)  # noqa: E731
        g, e = sorted(g, key=key), sorted(e, key=key)
    assert g == e


# -- the cases ------------------------------------------------------------------------------------

def obs_win(t, frm=W_FROM, to=W_TO):
    return window(t["obs"], "start_time", frm, to)


def case_count_total(t):
    return q("observations", [("count", "count")]), agg(obs_win(t), [], {"count_count": ("id", "rows")})


def case_sum_cost_by_model(t):
    o = obs_win(t).assign(providedModelName=lambda d: nullif(d["model"]))
    return (q("observations", [("totalCost", "sum"), ("count", "count")], ["providedModelName"]),
            agg(o, ["providedModelName"], {"sum_totalCost": ("cost_v2", "sum"), "count_count": ("id", "rows")}))


def case_v2_cost_missing_is_zero_by_env(t):
    # Langfuse: dataModel.ts eventsObservationsView.measures.totalCost = sum(toNullable(total_cost)) over
    # events_core.total_cost ALIAS cost_details['total'] -> observations without cost count as 0
    o = obs_win(t)
    return (q("observations", [("totalCost", "avg"), ("totalCost", "sum"), ("totalCost", "p50")], ["environment"]),
            agg(o, ["environment"], {"avg_totalCost": ("cost_v2", "mean"), "sum_totalCost": ("cost_v2", "sum"),
                                     "p50_totalCost": ("cost_v2", "p50")}))


def case_v2_trace_name_root_fallback(t):
    # Langfuse: eventsTableTraceNameSqlForAlias (packages/shared/src/eventsTable.ts): the trace name, else the
    # row's own name when the row is a root; NULL when empty
    o = obs_win(t)
    own = o["name"].where(o["parent_observation_id"].isna())
    name = nullif(o["trace_name"]).fillna(nullif(own))
    return (q("observations", [("count", "count")], ["traceName"]),
            agg(o.assign(traceName=name.where(name.notna(), None)), ["traceName"], {"count_count": ("id", "rows")}))


def case_avg_latency_by_type(t):
    o = obs_win(t).rename(columns={"type": "type_"}).assign(type=lambda d: d["type_"])
    return (q("observations", [("latency", "avg"), ("latency", "max"), ("latency", "min")], ["type"]),
            agg(o, ["type"], {"avg_latency": ("latency", "mean"), "max_latency": ("latency", "max"),
                              "min_latency": ("latency", "min")}))


def case_ttft_string_filter(t):
    o = obs_win(t)
    o = o[o["type"] == "GENERATION"].assign(providedModelName=lambda d: nullif(d["model"]))
    query_ = q("observations", [("timeToFirstToken", "p50"), ("timeToFirstToken", "count")], ["providedModelName"],
               filters=[{"column": "type", "type": "string", "operator": "=", "value": "GENERATION"}])
    return query_, agg(o, ["providedModelName"], {"p50_timeToFirstToken": ("ttft", "p50"),
                                                 "count_timeToFirstToken": ("ttft", "count")})


def case_percentiles_string_options(t):
    names = ["llm-call", "retrieve", "web_search"]
    o = obs_win(t)
    o = o[o["name"].isin(names)]
    query_ = q("observations", [("latency", "p75"), ("latency", "p90"), ("latency", "p95"), ("latency", "p99")],
               ["name"], filters=[{"column": "name", "type": "stringOptions", "operator": "any of", "value": names}])
    return query_, agg(o, ["name"], {f"p{p}_latency": ("latency", f"p{p}") for p in (75, 90, 95, 99)})


def case_uniq_traces_by_env(t):
    o = obs_win(t).assign(environment=lambda d: nullif(d["environment"]))
    return (q("observations", [("traceId", "uniq"), ("uniqueUserIds", "uniq"), ("uniqueSessionIds", "count")],
              ["environment"]),
            agg(o.assign(u=nullif(o["user_id"]), s=nullif(o["session_id"])), ["environment"],
                {"uniq_traceId": ("trace_id", "uniq"), "uniq_uniqueUserIds": ("u", "uniq"),
                 "count_uniqueSessionIds": ("s", "count")}))


def case_tokens_by_model(t):
    o = obs_win(t).assign(providedModelName=lambda d: nullif(d["model"]))
    return (q("observations", [("inputTokens", "sum"), ("outputTokens", "sum"), ("totalTokens", "sum")],
              ["providedModelName"]),
            agg(o, ["providedModelName"], {"sum_inputTokens": ("in_tok", "sum"), "sum_outputTokens": ("out_tok", "sum"),
                                          "sum_totalTokens": ("tot_tok", "sum")}))


def _days(frm: str, to: str) -> list[str]:
    cur, last = ts(frm).floor("D"), ts(to).floor("D")
    out = []
    while cur < last:  # WITH FILL ... TO is exclusive
        out.append(cur.strftime("%Y-%m-%d"))
        cur += timedelta(days=1)
    return out


def case_daily_series_with_fill(t):
    frm = "2026-10-20T00:00:00Z"
    o = obs_win(t, frm).assign(time_dimension=lambda d: d["start_time"].dt.strftime("%Y-%m-%d"))
    counts = o.groupby("time_dimension").size()
    expected = pd.DataFrame({"time_dimension": _days(frm, W_TO)})
    expected["count_count"] = expected["time_dimension"].map(counts).fillna(0).astype(int)
    return q("observations", [("count", "count")], frm=frm, timeDimension={"granularity": "day"}), expected


def case_hourly_ordered(t):
    o = obs_win(t, NARROW_FROM, NARROW_TO)
    o = o.assign(time_dimension=o["start_time"].dt.strftime("%Y-%m-%dT%H:00:00.000Z"))
    exp = agg(o, ["time_dimension"], {"sum_totalCost": ("cost_v2", "sum")}).sort_values("time_dimension")
    return (q("observations", [("totalCost", "sum")], frm=NARROW_FROM, to=NARROW_TO,
              timeDimension={"granularity": "hour"}, orderBy=[{"field": "time_dimension", "direction": "asc"}]),
            exp.reset_index(drop=True))


def case_minute_auto(t):
    frm, to = "2026-10-30T10:00:00Z", "2026-10-30T11:30:00Z"  # 1.5 h -> auto = minute
    o = obs_win(t, frm, to).assign(b=lambda d: d["start_time"].dt.floor("min"))
    counts = o.groupby("b").size()
    buckets = pd.date_range(ts(frm), ts(to), freq="min", inclusive="left")
    exp = pd.DataFrame({"time_dimension": [b.strftime("%Y-%m-%dT%H:%M:00.000Z") for b in buckets],
                        "count_count": [int(counts.get(b, 0)) for b in buckets]})
    return q("observations", [("count", "count")], frm=frm, to=to, timeDimension={"granularity": "auto"}), exp


def case_minute_desc_no_fill(t):
    frm, to = "2026-10-29T09:00:00Z", "2026-10-29T12:00:00Z"
    o = obs_win(t, frm, to).assign(time_dimension=lambda d: d["start_time"].dt.strftime("%Y-%m-%dT%H:%M:00.000Z"))
    exp = agg(o, ["time_dimension"], {"avg_latency": ("latency", "mean")})
    exp = exp.sort_values("time_dimension", ascending=False).reset_index(drop=True)
    return (q("observations", [("latency", "avg")], frm=frm, to=to, timeDimension={"granularity": "minute"},
              orderBy=[{"field": "time_dimension", "direction": "desc"}]), exp)


def case_weekly_monday(t):
    frm, to = "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"  # a Thursday .. a Sunday
    o = obs_win(t, frm, to)
    monday = o["start_time"].dt.floor("D") - pd.to_timedelta(o["start_time"].dt.day_of_week, unit="D")
    sums = o.groupby(monday.dt.strftime("%Y-%m-%d"))["cost_v2"].sum()
    # filled from toMonday(from) in steps of a week, up to (excluding) toMonday(to)
    weeks = [d.strftime("%Y-%m-%d") for d in pd.date_range("2026-09-28", "2026-10-26", freq="7D")]
    exp = pd.DataFrame({"time_dimension": weeks, "sum_totalCost": [float(sums.get(w, 0)) for w in weeks]})
    return q("observations", [("totalCost", "sum")], frm=frm, to=to, timeDimension={"granularity": "week"}), exp


def case_monthly(t):
    frm, to = "2026-09-15T00:00:00Z", "2026-11-01T00:00:00Z"
    o = obs_win(t, frm, to).assign(m=lambda d: d["start_time"].dt.strftime("%Y-%m-01"))
    counts = o.groupby("m").size()
    months = ["2026-09-01", "2026-10-01"]  # 11-01 is the exclusive fill end and has no data
    exp = pd.DataFrame({"time_dimension": months, "count_count": [int(counts.get(m, 0)) for m in months]})
    return q("observations", [("count", "count")], frm=frm, to=to, timeDimension={"granularity": "month"}), exp


def case_top_n_high_cardinality(t):
    o = obs_win(t)
    exp = agg(o, ["trace_id"], {"sum_totalCost": ("cost_v2", "sum")}).rename(columns={"trace_id": "traceId"})
    exp = exp.sort_values(["sum_totalCost", "traceId"], ascending=[False, True]).head(10).reset_index(drop=True)
    return (q("observations", [("totalCost", "sum")], ["traceId"],
              orderBy=[{"field": "sum_totalCost", "direction": "desc"}], config={"row_limit": 10}), exp)


def case_tags_array_filter(t):
    o = obs_win(t)
    o = o[o["tags"].map(lambda a: isinstance(a, list) and "rag" in a)]
    o = o.assign(tags=o["tags"].map(tuple))
    exp = agg(o, ["tags"], {"count_count": ("id", "rows")})
    exp["tags"] = exp["tags"].map(list)
    return (q("observations", [("count", "count")], ["tags"],
              filters=[{"column": "tags", "type": "arrayOptions", "operator": "any of", "value": ["rag"]}]), exp)


def case_tool_names_exploded(t):
    o = obs_win(t).explode("tool_names").dropna(subset=["tool_names"]).rename(columns={"tool_names": "toolNames"})
    # one inner row per (observation, tool name): duplicates inside one array count once
    o = o.drop_duplicates(["id", "toolNames"])
    return (q("observations", [("count", "count")], ["toolNames"]),
            agg(o, ["toolNames"], {"count_count": ("id", "rows")}))


def case_cost_by_type(t):
    o = obs_win(t)
    pairs = [(k, v) for d in o["cost"] for k, v in d.items()]
    df = pd.DataFrame(pairs, columns=["costType", "v"])
    return (q("observations", [("costByType", "sum")]),
            agg(df, ["costType"], {"sum_costByType": ("v", "sum")}))


def case_usage_by_type_filtered(t):
    o = obs_win(t)
    o = o[o["model"] == "gpt-4o-mini"]
    pairs = [(k, v) for d in o["usage"] for k, v in d.items()]
    df = pd.DataFrame(pairs, columns=["usageType", "v"])
    return (q("observations", [("usageByType", "sum"), ("usageByType", "avg")], ["usageType"],
              filters=[{"column": "providedModelName", "type": "string", "operator": "=", "value": "gpt-4o-mini"}]),
            agg(df, ["usageType"], {"sum_usageByType": ("v", "sum"), "avg_usageByType": ("v", "mean")}))


def case_root_boolean_filter(t):
    o = obs_win(t)
    o = o[o["parent_observation_id"].isna()]
    return (q("observations", [("count", "count")], ["isRootObservation"],
              filters=[{"column": "isRootObservation", "type": "boolean", "operator": "=", "value": True}]),
            pd.DataFrame([{"isRootObservation": True, "count_count": len(o)}]))


def case_null_filter(t):
    o = obs_win(t)
    o = o[o["prompt_name"].notna() & (o["prompt_name"] != "")]
    return (q("observations", [("count", "count")], ["promptName", "promptVersion"],
              filters=[{"column": "promptName", "type": "null", "operator": "is not null", "value": ""}]),
            agg(o.assign(promptName=o["prompt_name"], promptVersion=o["prompt_version"].astype(int)),
                ["promptName", "promptVersion"], {"count_count": ("id", "rows")}))


def case_datetime_and_metadata_filters(t):
    o = obs_win(t)
    cut = ts("2026-10-28T12:00:00Z")
    meta = o["metadata"].map(lambda s: json.loads(s).get("worker", "") if isinstance(s, str) else "")
    o = o[(o["start_time"] >= cut) & meta.str.startswith("worker-1")]
    return (q("observations", [("count", "count")], ["type"],
              filters=[{"column": "start_time", "type": "datetime", "operator": ">=", "value": "2026-10-28T12:00:00Z"},
                       {"column": "metadata", "type": "stringObject", "key": "worker", "operator": "starts with",
                        "value": "worker-1"}]),
            agg(o, ["type"], {"count_count": ("id", "rows")}))


def case_count_scores_inner_join(t):
    o, s = obs_win(t), window(t["scores"], "timestamp")
    joined = o.merge(s[["id", "observation_id"]].rename(columns={"id": "sid"}), left_on="id",
                     right_on="observation_id")
    per_obs = joined.groupby("id").agg(name=("name", "first"), n=("sid", "nunique")).reset_index()
    return (q("observations", [("countScores", "sum"), ("countScores", "max")], ["name"]),
            agg(per_obs, ["name"], {"sum_countScores": ("n", "sum"), "max_countScores": ("n", "max")}))


def case_speed_and_streaming(t):
    o = obs_win(t)
    o = o[o["type"] == "GENERATION"].assign(providedModelName=lambda d: nullif(d["model"]))
    return (q("observations", [("tokensPerSecond", "avg"), ("outputTokensPerSecond", "max"),
                                ("streamingLatency", "avg")], ["providedModelName"],
              filters=[{"column": "type", "type": "stringOptions", "operator": "any of", "value": ["GENERATION"]}]),
            agg(o, ["providedModelName"], {"avg_tokensPerSecond": ("tps", "mean"),
                                           "max_outputTokensPerSecond": ("otps", "max"),
                                           "avg_streamingLatency": ("streaming", "mean")}))


def case_costs_and_tools(t):
    o = obs_win(t).assign(providedModelName=lambda d: nullif(d["model"]))
    return (q("observations", [("inputCost", "sum"), ("outputCost", "sum"), ("toolDefinitions", "sum"),
                                ("toolCalls", "count")], ["providedModelName"],
              filters=[{"column": "name", "type": "string", "operator": "does not contain", "value": "search"}]),
            agg(o[~o["name"].fillna("").str.contains("search", regex=False) & (o["name"].fillna("") != "")],
                ["providedModelName"],
                {"sum_inputCost": ("in_cost", "sum"), "sum_outputCost": ("out_cost", "sum"),
                 "sum_toolDefinitions": ("n_tools", "sum"), "count_toolCalls": ("n_calls", "count")}))


def scores_win(t, types, frm=W_FROM, to=W_TO):
    s = window(t["scores"], "timestamp", frm, to)
    return s[s["data_type"].isin(types)]


def case_scores_numeric_avg(t):
    s = scores_win(t, ["NUMERIC", "BOOLEAN"])
    return (q("scores-numeric", [("value", "avg"), ("count", "count")], ["name"]),
            agg(s, ["name"], {"avg_value": ("value", "mean"), "count_count": ("id", "rows")}))


def case_scores_boolean_true_rate(t):
    s = scores_win(t, ["BOOLEAN"]).assign(booleanValue=lambda d: d["value"] != 0)
    return (q("scores-boolean", [("count", "count")], ["booleanValue", "source"]),
            agg(s, ["booleanValue", "source"], {"count_count": ("id", "rows")}))


def case_scores_categorical(t):
    s = scores_win(t, ["CATEGORICAL"], NARROW_FROM, NARROW_TO).assign(stringValue=lambda d: d["string_value"])
    return (q("scores-categorical", [("count", "uniq")], ["stringValue"], frm=NARROW_FROM, to=NARROW_TO),
            agg(s.assign(one=1), ["stringValue"], {"uniq_count": ("one", "uniq")}))


def case_scores_number_filter(t):
    s = scores_win(t, ["NUMERIC", "BOOLEAN"])
    s = s[s["value"] > 0.5]
    return (q("scores-numeric", [("value", "p75"), ("value", "min")], ["source"],
              filters=[{"column": "value", "type": "number", "operator": ">", "value": 0.5}]),
            agg(s, ["source"], {"p75_value": ("value", "p75"), "min_value": ("value", "min")}))


def case_scores_trace_relation_v2(t):
    s = scores_win(t, ["NUMERIC", "BOOLEAN"])
    tr = window(t["traces"], "timestamp")[["id", "name"]].rename(columns={"id": "tid", "name": "traceName"})
    j = s.merge(tr, left_on="trace_id", right_on="tid")  # INNER JOIN: session scores drop out
    return (q("scores-numeric", [("value", "avg")], ["traceName"]),
            agg(j, ["traceName"], {"avg_value": ("value", "mean")}))


def case_v1_traces_view(t):
    tr = window(t["traces"], "timestamp")
    o = window(t["obs"], "start_time")
    j = tr.merge(o[["trace_id", "total_cost", "id"]].rename(columns={"id": "oid"}), left_on="id", right_on="trace_id")
    per = j.groupby("id").agg(name=("name", "first"), cost=("total_cost", lambda s: s.sum(min_count=1)),
                              n=("oid", "nunique")).reset_index()
    per["name"] = per["name"].fillna("")
    return (q("traces", [("totalCost", "sum"), ("observationsCount", "avg"), ("count", "count")], ["name"]),
            agg(per.assign(one=1), ["name"], {"sum_totalCost": ("cost", "sum"), "avg_observationsCount": ("n", "mean"),
                                              "count_count": ("one", "count")}))


def case_v1_observations_user(t):
    o = obs_win(t, NARROW_FROM, NARROW_TO)
    tr = window(t["traces"], "timestamp", NARROW_FROM, NARROW_TO)[["id", "user_id"]]
    j = o.merge(tr.rename(columns={"id": "tid", "user_id": "uid"}), left_on="trace_id", right_on="tid")
    j["userId"] = j["uid"].fillna("")
    return (q("observations", [("count", "count")], ["userId"], frm=NARROW_FROM, to=NARROW_TO),
            agg(j, ["userId"], {"count_count": ("id", "rows")}))


def case_v1_scores_numeric_session(t):
    s = scores_win(t, ["NUMERIC", "BOOLEAN"])
    tr = window(t["traces"], "timestamp")[["id", "session_id"]].rename(columns={"id": "tid", "session_id": "sid"})
    j = s.merge(tr, left_on="trace_id", right_on="tid")
    j["sessionId"] = j["sid"].fillna("")
    return (q("scores-numeric", [("value", "sum"), ("count", "count")], ["sessionId"]),
            agg(j, ["sessionId"], {"sum_value": ("value", "sum"), "count_count": ("id", "rows")}))


def case_v1_scores_boolean_by_day(t):
    s = scores_win(t, ["BOOLEAN"]).assign(timestampDay=lambda d: d["timestamp"].dt.strftime("%Y-%m-%d"))
    return (q("scores-boolean", [("value", "avg")], ["timestampDay", "name"]),
            agg(s, ["timestampDay", "name"], {"avg_value": ("value", "mean")}))


def _histogram(values: pd.Series) -> list:
    """ClickHouse histogram for at most ``bins`` distinct values: one bin per value."""
    counts = values.value_counts().sort_index()
    v, c = counts.index.astype(float).tolist(), counts.astype(float).tolist()
    out = []
    for i in range(len(v)):
        lo = v[0] if i == 0 else (v[i - 1] + v[i]) / 2
        hi = v[-1] if i == len(v) - 1 else (v[i] + v[i + 1]) / 2
        w_lo = c[i] if i == 0 else (c[i - 1] + 3 * c[i]) / 4
        w_hi = c[i] if i == len(v) - 1 else (c[i + 1] + 3 * c[i]) / 4
        out.append([lo, hi, (w_lo + w_hi) / 2])
    return out


def case_histogram_by_type(t):
    o = obs_win(t)  # types without tool definitions keep their row, with an empty histogram
    rows = [{"type": k, "histogram_toolDefinitions": _histogram(g["n_tools"].dropna())} for k, g in o.groupby("type")]
    return (q("observations", [("toolDefinitions", "histogram")], ["type"], config={"bins": 10},
              filters=[{"column": "toolNames", "type": "arrayOptions", "operator": "none of", "value": ["nope"]}]),
            pd.DataFrame(rows))


def case_empty_metrics(t):
    o = obs_win(t)
    return q("observations", [], ["level"]), agg(o.assign(one=1), ["level"], {"count": ("one", "rows")})


def case_order_by_dimension_limit(t):
    o = obs_win(t)
    exp = agg(o, ["name"], {"max_latency": ("latency", "max")})
    exp = exp.sort_values("name").head(5).reset_index(drop=True)
    return (q("observations", [("latency", "max")], ["name"], orderBy=[{"field": "name", "direction": "asc"}],
              config={"row_limit": 5}), exp)


CASES = [c for name, c in sorted(globals().items()) if name.startswith("case_")]
V1_CASES = {"case_v1_traces_view", "case_v1_observations_user", "case_v1_scores_numeric_session",
            "case_v1_scores_boolean_by_day"}
ORDERED = {"case_hourly_ordered", "case_minute_desc_no_fill", "case_top_n_high_cardinality", "case_order_by_dimension_limit",
           "case_daily_series_with_fill", "case_minute_auto", "case_weekly_monday", "case_monthly"}


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_engine_equals_pandas(case, tables, store_small):
    query_, expected = case(tables)
    version = "v1" if case.__name__ in V1_CASES else "v2"
    got = query(store_small, query_, version)
    assert_same(got, expected, ordered=case.__name__ in ORDERED)


def test_the_cases_cover_views_aggregations_granularities_and_filter_types(tables):
    queries = [(c(tables)[0], "v1" if c.__name__ in V1_CASES else "v2") for c in CASES]
    assert len(queries) >= 30
    views_ = {(v, q_["view"]) for q_, v in queries}
    assert views_ >= {("v2", "observations"), ("v2", "scores-numeric"), ("v2", "scores-boolean"),
                      ("v2", "scores-categorical"), ("v1", "traces"), ("v1", "observations"),
                      ("v1", "scores-numeric"), ("v1", "scores-boolean")}
    aggs = {m["aggregation"] for q_, _ in queries for m in q_["metrics"]}
    assert aggs == {"sum", "avg", "count", "max", "min", "p50", "p75", "p90", "p95", "p99", "uniq", "histogram"}
    grans = {q_["timeDimension"]["granularity"] for q_, _ in queries if q_.get("timeDimension")}
    assert grans == {"auto", "minute", "hour", "day", "week", "month"}
    ftypes = {f["type"] for q_, _ in queries for f in q_.get("filters", [])}
    assert ftypes == {"string", "stringOptions", "arrayOptions", "boolean", "null", "datetime", "stringObject", "number"}
