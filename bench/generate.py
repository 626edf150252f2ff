"""Time the synthetic data generator: N observations into an in-memory Store.

Usage: ``python bench/generate.py [--observations 1000000] [--days 30] [--seed 0]``

Traces are sized at one per 8 observations (the generator's average), so the
printed observation count is close to, not exactly, the requested one.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from lfnb.local.generator import generate
from lfnb.local.store import Store

OBS_PER_TRACE = 8


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--observations", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    traces = max(1, args.observations // OBS_PER_TRACE)
    store = Store()
    t0 = time.perf_counter()
    counts = generate(store, seed=args.seed, traces=traces, days=args.days,
                      anchor=datetime(2026, 11, 1, tzinfo=UTC))
    elapsed = time.perf_counter() - t0
    n_obs = counts["observations"]
    print(f"generate(traces={traces:,}, days={args.days}): {elapsed:.2f} s")
    print(f"  observations {n_obs:,} ({n_obs / elapsed:,.0f} rows/s), traces {counts['traces']:,}, "
          f"scores {counts['scores']:,}, sessions {counts['sessions']:,}")
    print("  " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
    store.close()


if __name__ == "__main__":
    main()
