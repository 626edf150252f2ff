"""``lfnb sync PATH|URL [--since ISO] [--until ISO] [--resources a,b] [--workers N] [--lookback 2h] [--verify]``.

Credentials and server come from ``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY`` and
``LANGFUSE_BASE_URL`` (or ``LANGFUSE_HOST``), as for :func:`lfnb.connect`. Prints the
result table (one row per resource); exit code 0, or 2 with the error on stderr.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the lake directory (created when missing) or an fsspec URL (s3://bucket/lake; "
                                     "credentials as the filesystem finds them, e.g. AWS_* variables)")
    parser.add_argument("--since", help="start of the window, ISO 8601 (naive = UTC); default: high-water "
                                        "mark minus --lookback, or the whole history on a first sync")
    parser.add_argument("--until", help="end of the window (exclusive); default: now")
    parser.add_argument("--resources", default="observations,scores,traces",
                        help="comma-separated: observations, scores, traces (default: all three)")
    parser.add_argument("--workers", type=int, default=1, help="concurrent requests per read (default 1)")
    parser.add_argument("--lookback", default="2h", help="re-read this much before the high-water mark (default 2h)")
    parser.add_argument("--verify", action="store_true",
                        help="compare per-day counts with the server and re-read the days that differ")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from lfnb.client import connect
    from lfnb.errors import LfnbError

    resources = [r.strip() for r in args.resources.split(",") if r.strip()]
    try:
        with connect() as lf:
            result = lf.sync(args.path, resources=resources, since=args.since, until=args.until,
                             lookback=args.lookback, workers=args.workers, progress=not args.no_progress,
                             verify=args.verify)
    except LfnbError as exc:
        print(f"lfnb sync: {exc}", file=sys.stderr)
        return 2
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(result.to_string(index=False))
    return 0
