"""Benchmark: ``lf.sync`` into a Parquet lake, against its peers in the same run (ratios only).

    python bench/sync.py [--traces 2500] [--days 30] [--workers 1] [--repeat 2]

Starts lfnb.local (v4) in this process with ``traces`` traces (2,500 ≈ 20,000 observations;
125,000 ≈ 1M), then runs each contender in a fresh ``spawn``-ed child process so that peak
memory (``VmHWM`` minus the RSS after imports) is the child's own:

(a) ``lf.sync`` of observations (all field groups) over the whole range, into a new lake
(b) ``lf.read_observations`` of the same range and field groups (the peer of (a))
(c) ``lf.sync`` of the last tenth of the range (peak memory of (a) should stay near it: it streams)
(d) an incremental ``lf.sync`` after one new day, after (a)-style sync of all but that day
(e) the same Metrics query through ``lake.metrics`` (first query: loads the lake; second: reuses it)
    and ``lf.read_metrics`` over HTTP

Targets (issue #10): (a) ≥ 0.9× the rows/s of (b); peak memory of (a) within 1.5× of (c)'s
for a 10× larger range; (d) ≤ 5% of (a)'s requests. (e) is reported as a ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from datetime import UTC, datetime, timedelta

from memory import reset_peak, rss_kb  # bench/memory.py (scripts run from bench/)

ALL = ("core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics", "trace_context")
QUERY = {"view": "observations", "dimensions": [{"field": "providedModelName"}],
         "metrics": [{"measure": "totalCost", "aggregation": "sum"}, {"measure": "count", "aggregation": "count"}],
         "timeDimension": {"granularity": "day"}}


def _child(kind: str, server: dict, start: str, end: str, extra: dict, out) -> None:
    import pandas as pd

    import lfnb
    import lfnb.lake  # noqa: F401 - imported before the baseline, as every contender needs it

    pd.Series(["x"], dtype="str")
    lf = lfnb.connect(server["url"], server["pk"], server["sk"])
    _ = lf.generation
    base = rss_kb("VmRSS")
    reset_peak()
    t0 = time.perf_counter()
    requests0 = lf.transport.requests
    rows = 0
    if kind == "sync":
        result = lf.sync(extra["path"], resources=["observations"], since=start, until=end, workers=extra["workers"])
        rows = int(result["fetched"].sum())
    elif kind == "read":
        rows = len(lf.read_observations(start, end, fields=ALL, workers=extra["workers"], progress=False))
    elif kind == "lake_metrics":
        lake = lfnb.open_lake(extra["path"])
        rows = len(lake.metrics({**QUERY, "fromTimestamp": start, "toTimestamp": end}))
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        lake.metrics({**QUERY, "fromTimestamp": start, "toTimestamp": end, "filters": []})
        out.put({"first_seconds": first})
    elif kind == "api_metrics":
        rows = len(lf.read_metrics({**QUERY, "fromTimestamp": start, "toTimestamp": end}, cache=False))
    seconds = time.perf_counter() - t0
    out.put({"rows": rows, "seconds": seconds, "requests": lf.transport.requests - requests0,
             "peak_mb": (rss_kb("VmHWM") - base) / 1024})


def run(kind: str, server: dict, start: datetime, end: datetime, **extra) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    iso = "%Y-%m-%dT%H:%M:%S.000Z"
    p = ctx.Process(target=_child, args=(kind, server, start.strftime(iso), end.strftime(iso), extra, q))
    p.start()
    result = q.get()
    if kind == "lake_metrics":
        result = {**result, **q.get()}
    p.join()
    return result


def main() -> None:
    from lfnb.local import serve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=2500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    anchor = datetime(2026, 11, 1, tzinfo=UTC)
    start = anchor - timedelta(days=args.days)
    with serve(port=0, generation="v4", traces=args.traces, days=args.days, anchor=anchor) as srv, \
            tempfile.TemporaryDirectory() as tmp:
        server = {"url": srv.base_url, "pk": srv.env["LANGFUSE_PUBLIC_KEY"], "sk": srv.env["LANGFUSE_SECRET_KEY"]}
        print(f"{srv.store.count('observations'):,} observations over {args.days} days, workers={args.workers}")
        # alternate (a) and (b) --repeat times, the fastest run of each counts (the first warms the server)
        reads, fulls = [], []
        for i in range(args.repeat):
            reads.append(run("read", server, start, anchor, workers=args.workers))
            fulls.append(run("sync", server, start, anchor, path=f"{tmp}/full{i}", workers=args.workers))
        read = min(reads, key=lambda r: r["seconds"])
        full = min(fulls, key=lambda r: r["seconds"])
        full_path = f"{tmp}/full{fulls.index(full)}"
        tenth = run("sync", server, anchor - timedelta(days=args.days / 10), anchor, path=f"{tmp}/tenth",
                    workers=args.workers)
        run("sync", server, start, anchor - timedelta(days=1), path=f"{tmp}/inc", workers=args.workers)
        incremental = run("sync", server, anchor - timedelta(days=1, hours=2), anchor, path=f"{tmp}/inc",
                          workers=args.workers)
        lake_m = run("lake_metrics", server, start, anchor, path=full_path)
        api_m = run("api_metrics", server, start, anchor)
    for name, r in (("(b) read_observations", read), ("(a) sync, full range", full), ("(c) sync, last tenth", tenth),
                    ("(d) sync, one new day", incremental), ("(e) lake.metrics, 2nd query", lake_m),
                    ("(e) lf.read_metrics (HTTP)", api_m)):
        print(f"{name:28} {r['rows']:>9,} rows {r['seconds']:7.2f} s {r['requests']:>5} requests "
              f"peak +{r['peak_mb']:7.1f} MB")
    print(f"sync rows/s ÷ read_observations rows/s: {full['rows'] / full['seconds'] / (read['rows'] / read['seconds']):.2f}"
          "  (target ≥ 0.9)")
    print(f"sync peak, full ÷ last tenth: {full['peak_mb'] / max(tenth['peak_mb'], 1e-9):.2f}  (target ≤ 1.5)")
    print(f"sync peak ÷ read_observations peak: {full['peak_mb'] / max(read['peak_mb'], 1e-9):.2f}")
    print(f"incremental requests ÷ full requests: {incremental['requests'] / full['requests']:.3f}  (target ≤ 0.05)")
    print(f"lake.metrics first query (loads the lake) {lake_m['first_seconds']:.2f} s")
    print(f"lake.metrics time ÷ lf.read_metrics time: first query {lake_m['first_seconds'] / api_m['seconds']:.2f}, "
          f"later queries {lake_m['seconds'] / api_m['seconds']:.2f}")


if __name__ == "__main__":
    main()
