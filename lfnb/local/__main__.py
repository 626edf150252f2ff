"""``python -m lfnb.local serve|wait`` (also reachable as ``lfnb local …``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime


def _anchor(text: str) -> datetime:
    """An ISO 8601 instant; naive values are UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--anchor must be an ISO 8601 time such as 2026-11-01T00:00:00Z, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` and ``wait`` subcommands, on ``parser`` (shared with ``lfnb local``)."""
    sub = parser.add_subparsers(dest="command", required=True, metavar="{serve,wait}")
    s = sub.add_parser("serve", help="run lfnb.local on 127.0.0.1 until interrupted")
    s.add_argument("--port", type=int, default=3000, help="port (0 = a free one; default 3000)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--traces", type=int, default=5000)
    s.add_argument("--days", type=int, default=30)
    s.add_argument("--anchor", type=_anchor, default=None,
                   help="end of the data's time range, ISO 8601 (default: today's UTC midnight)")
    s.add_argument("--generation", choices=("v4", "v3", "both"), default="v4",
                   help="v4: a v4 deployment in events_only mode (Langfuse Cloud); v3: a self-hosted v3 from "
                        "v3.180.0; both: every endpoint (see docs/lfnb-local-differences.md)")
    s.add_argument("--public-key", default="pk-lf-local")
    s.add_argument("--secret-key", default="sk-lf-local")
    s.add_argument("--db", default=None, help="DuckDB file: served as is if it holds data, else generated into")
    s.add_argument("--rate-limit", default=None, metavar="PLAN",
                   help="emulate Langfuse Cloud limits: hobby, core or pro (':sliding' for sliding windows)")
    s.add_argument("--faults", default=None, metavar="SPEC",
                   help="fault injection, e.g. '500=0.02,drop=0.01,seed=7' (see lfnb.local.faults)")
    s.add_argument("--latency-ms", type=float, default=0, help="extra delay per request")
    w = sub.add_parser("wait", help="wait until a server's /api/public/health answers")
    w.add_argument("--base-url", required=True)
    w.add_argument("--timeout", type=float, default=60)


def run(args: argparse.Namespace) -> int:
    if args.command == "wait":
        return _wait(args)
    return _serve(args)


def _wait(args: argparse.Namespace) -> int:
    from lfnb.local.server import wait_until_ready

    try:
        seconds = wait_until_ready(args.base_url, timeout=args.timeout)
    except TimeoutError as exc:
        print(f"lfnb.local wait: {exc}", file=sys.stderr)
        return 1
    print(f"{args.base_url} is up (after {seconds:.1f} s)", flush=True)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from lfnb.local.faults import FaultSpecError
    from lfnb.local.server import serve

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with serve(port=args.port, seed=args.seed, traces=args.traces, days=args.days, anchor=args.anchor,
                   generation=args.generation, public_key=args.public_key, secret_key=args.secret_key,
                   db=args.db, rate_limit=args.rate_limit, faults=args.faults,
                   latency_ms=args.latency_ms) as server:
            counts = ", ".join(f"{k}={v}" for k, v in server.counts.items() if isinstance(v, int))
            what = f"generated {counts}" if counts else f"{server.store.count('traces')} traces from an existing or empty store"
            print(f"lfnb.local ({server.generation}) serving {what}", flush=True)
            # The demo keys are known local values, but a custom secret is the user's: print it
            # only when it is the default one, otherwise tell where it came from.
            secret = args.secret_key if args.secret_key == "sk-lf-local" else "<the --secret-key you gave>"
            print(f"export LANGFUSE_BASE_URL={server.base_url}\n"
                  f"export LANGFUSE_PUBLIC_KEY={server.public_key}\n"
                  f"export LANGFUSE_SECRET_KEY={secret}", flush=True)
            print(f"lfnb.local ready at {server.base_url}", flush=True)
            # Wake up now and then: a signal may be delivered to a worker thread, and Python runs
            # the handler only when the main thread executes bytecode again.
            while not stop.wait(0.2):
                pass
    except (FaultSpecError, ValueError) as exc:
        print(f"lfnb.local serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lfnb.local serve: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    print("lfnb.local stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lfnb.local",
                                     description="lfnb.local: a Langfuse-compatible server with synthetic data")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
