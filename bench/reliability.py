"""Before/after figures for issue 12, points 2 and 3 (counts and seconds, printed; no asserts).

Run the client of any lfnb tree against a server of this tree (which has the ``lost`` fault)::

    python -m lfnb.local serve --port 18201 --faults lost=0.3,seed=7 --traces 200 --days 3 &
    python -m lfnb.local serve --port 18202 --faults 429=1,retry_after=3600 --traces 50 --days 1 &
    python -m lfnb.local serve --port 18203 --traces 50 --days 1 &
    PYTHONPATH=<tree> python bench/reliability.py 18201 18202 18203

1. 30 ``comments_create`` calls through 30 % lost replies: comments stored per call (duplicates).
2. One request answered ``429`` with ``Retry-After: 3600``: seconds until an error (sleeps are
   counted, not waited: ``time.sleep`` is replaced by a counter).
3. ``rate_limit="hobby"``: seconds before the 101st v2-metrics request of the day fails or is sent.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import lfnb

PK, SK = "pk-lf-local", "sk-lf-local"


class VirtualSleep:
    def __init__(self):
        self.slept = 0.0

    def __call__(self, seconds):
        self.slept += seconds


def comments(port: int) -> None:
    lf = lfnb.connect(f"http://127.0.0.1:{port}", PK, SK, timeout=5)
    project = lf.read_projects()["id"][0]
    trace = lf.read_traces(max_rows=1, progress=False)["id"][0]
    prefix = f"bench-{time.time_ns()}"
    raised = 0
    for i in range(30):
        try:
            lf.call("comments_create", body={"projectId": project, "objectType": "TRACE", "objectId": trace,
                                              "content": f"{prefix}-{i}"})
        except lfnb.LfnbError:
            raised += 1
    clean = lfnb.connect(f"http://127.0.0.1:{port}", PK, SK, max_retries=10)
    clean.transport.backoff = 0.01
    stored = clean.read_comments(object_type="TRACE", object_id=trace, progress=False)
    counts = Counter(c for c in stored["content"] if str(c).startswith(prefix))
    dup = sum(n - 1 for n in counts.values())
    print(f"comments_create x30, 30% lost replies: {sum(counts.values())} stored for {len(counts)} distinct "
          f"calls, {dup} duplicates; {raised} calls raised")


def retry_after(port: int) -> None:
    import lfnb.http.transport as transport_mod

    sleep = VirtualSleep()
    real, transport_mod.time.sleep = transport_mod.time.sleep, sleep
    lf = lfnb.connect(f"http://127.0.0.1:{port}", PK, SK)
    t0 = time.monotonic()
    try:
        lf.call("models_list")
    except lfnb.LfnbError as exc:
        wall = time.monotonic() - t0
        print(f"Retry-After 3600: {type(exc).__name__} after {wall + sleep.slept:.1f} s "
              f"({sleep.slept:.0f} s of it asleep, {lf.transport.requests} requests): {str(exc)[:160]}")
    finally:
        transport_mod.time.sleep = real


def limiter(port: int) -> None:
    import lfnb.http.transport as transport_mod

    sleep = VirtualSleep()
    lf = lfnb.connect(f"http://127.0.0.1:{port}", PK, SK, rate_limit="hobby")
    for bucket in lf.transport.rate_limiter.buckets.values():
        bucket._sleep = sleep
    real, transport_mod.time.sleep = transport_mod.time.sleep, sleep
    try:
        for _ in range(100):
            try:
                lf.transport.request("GET", "/api/public/v2/metrics", params={"query": "{}"})
            except lfnb.ApiError:
                pass
        before = sleep.slept
        t0 = time.monotonic()
        try:
            lf.transport.request("GET", "/api/public/v2/metrics", params={"query": "{}"})
            outcome = "sent"
        except lfnb.RateLimitError as exc:
            outcome = f"RateLimitError: {str(exc)[:160]}"
        except lfnb.ApiError:
            outcome = "sent"
        waited = sleep.slept - before + time.monotonic() - t0
        print(f"hobby limiter, 101st v2-metrics request: {waited:.1f} s before it was {outcome}")
    finally:
        transport_mod.time.sleep = real


if __name__ == "__main__":
    lossy, limited, plain = (int(p) for p in sys.argv[1:4])
    comments(lossy)
    retry_after(limited)
    limiter(plain)
