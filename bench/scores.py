"""Benchmark: scores on a v3 server — ``GET /api/public/v2/scores`` (pages) against ``/v3/scores`` (cursor).

    python bench/scores.py [--traces 6000] [--latency-ms 100] [--workers 8] [--repeat 3]

Self-hosted Langfuse v3 serves both endpoints from v3.180.0 on. Starts lfnb.local with
``--generation v3`` and ``latency_ms`` per request, then reads every score into the same
typed frame through lfnb's own read path, three ways:

(a) v2 scores, one page at a time (100 rows a page);
(b) v2 scores, pages 2..N read by ``--workers`` threads;
(c) v3 scores, cursor pages of 100 rows (sequential by nature).

Prints rows, requests and the fastest wall time of ``--repeat`` runs, and the ratios
(b)/(a) and (c)/(a). Both endpoints return the same rows here; the ratio is what to
compare, not the absolute times (a remote server adds its own per-page cost, which for
deep v2 pages — ``OFFSET`` — grows with the page number, and does not for the cursor).
"""

from __future__ import annotations

import argparse
import time


def _time(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=6000)
    ap.add_argument("--latency-ms", type=float, default=100)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import lfnb
    from lfnb.local import serve
    from lfnb.reads.generations import SCORES_V3_LIMIT, _scores_v3

    with serve(port=0, generation="v3", traces=args.traces, days=30, seed=0, latency_ms=args.latency_ms) as server:
        lf = lfnb.connect(base_url=server.base_url, public_key=server.public_key, secret_key=server.secret_key)
        n_scores = server.store.fetch("SELECT count(*) AS n FROM scores")[0]["n"]
        runs = {
            "(a) v2 pages, sequential": lambda: lf._read_list("score_v2_get", "scores", {}, progress=False),
            f"(b) v2 pages, workers={args.workers}": lambda: lf._read_list(
                "score_v2_get", "scores", {}, workers=args.workers, progress=False),
            "(c) v3 cursor": lambda: lf._read_list("scores_v3_get_many", "scores", {}, limit=SCORES_V3_LIMIT,
                                                   progress=False, transform=_scores_v3),
        }
        times = {}
        print(f"{n_scores} scores, latency {args.latency_ms:g} ms/request, best of {args.repeat}")
        for label, fn in runs.items():
            seconds, frame = _time(fn, args.repeat)
            times[label] = seconds
            print(f"{label:32} {len(frame):7d} rows  {seconds:7.2f} s")
        base = times["(a) v2 pages, sequential"]
        for label, seconds in times.items():
            print(f"{label:32} {base / seconds:5.2f}x the speed of (a)")


if __name__ == "__main__":
    main()
