"""The ``lfnb`` command.

Subcommands register themselves in :data:`SUBCOMMANDS` as ``name -> (help, add_arguments, run)``
so a new one (``lfnb report``) is one entry plus its module; ``lfnb local …`` is lfnb.local's CLI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def _local_arguments(parser: argparse.ArgumentParser) -> None:
    from lfnb.local.__main__ import add_arguments

    add_arguments(parser)


def _local_run(args: argparse.Namespace) -> int:
    from lfnb.local.__main__ import run

    return run(args)


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=3000, help="lfnb.local's port (default 3000)")
    parser.add_argument("--lab-port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    parser.add_argument("--notebooks", default="notebooks", help="where the example notebooks are (default notebooks/)")
    parser.add_argument("--dir", default="demo", help="where the copies JupyterLab opens go (default demo/)")
    parser.add_argument("lab_args", nargs=argparse.REMAINDER,
                        help="more JupyterLab options after --, e.g. -- --no-browser")


def _demo_run(args: argparse.Namespace) -> int:
    from lfnb.local.demo import run_demo

    extra = [a for a in args.lab_args if a != "--"]
    return run_demo(port=args.port, lab_port=args.lab_port, lab_args=extra, source=args.notebooks, target=args.dir)


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    from lfnb.report import add_arguments

    add_arguments(parser)


def _notebooks_run(args: argparse.Namespace) -> int:
    from lfnb.report import run_notebooks

    return run_notebooks(args)


def _report_run(args: argparse.Namespace) -> int:
    from lfnb.report import run_report

    return run_report(args)


def _sync_arguments(parser: argparse.ArgumentParser) -> None:
    from lfnb.lake.cli import add_arguments

    add_arguments(parser)


def _sync_run(args: argparse.Namespace) -> int:
    from lfnb.lake.cli import run

    return run(args)


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "local": ("run or wait for lfnb.local, the embedded Langfuse-compatible server", _local_arguments, _local_run),
    "demo": ("serve the demo data and open JupyterLab on copies of the notebooks (make demo)",
             _demo_arguments, _demo_run),
    "notebooks": ("execute notebooks in place against the demo data (stores their outputs)",
                  _report_arguments, _notebooks_run),
    "report": ("execute the notebooks into standalone HTML files (charts embedded, offline)",
               _report_arguments, _report_run),
    "sync": ("mirror a Langfuse project into a local Parquet lake (incremental)", _sync_arguments, _sync_run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lfnb", description="lfnb: Langfuse data for notebooks")
    sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
    for name, (help_text, add_arguments, run) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
        p.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lfnb`` console script."""
    args = build_parser().parse_args(argv)
    return args._run(args)


if __name__ == "__main__":
    sys.exit(main())
