"""The ``nocfit`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nocfit import config


class UsageError(Exception):
    """A problem the user can fix (bad input, missing prerequisites): printed without a traceback."""


# ------------------------------------------------------------------------------ refresh
def _warehouse_summary() -> list[tuple[str, int]]:
    from warehouse.connection import connect

    with connect() as con:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema <> 'meta' ORDER BY 1"
        ).fetchall()
        return [(name, int(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])) for (name,) in tables]


def cmd_refresh(args: argparse.Namespace) -> int:
    from nocfit.runner import run_job
    from pipelines.defs.common import FORCE_TAG

    warehouse = config.warehouse_path()
    print(f"nocfit refresh -> {warehouse}")
    print(f"sources: {config.sources_dir()}{' (download cache)' if config.sources_dir_is_default() else ''}")
    tags = {FORCE_TAG: "true"} if args.force else {}
    run_config = {}
    if args.download:
        run_config = {"resources": {"sources": {"config": {"refresh_downloads": True}}}}
    report = run_job("refresh", tags=tags, run_config=run_config)
    if not report.success:
        print(f"\nrefresh FAILED after {report.seconds:.1f}s (run {report.run_id}):", file=sys.stderr)
        for error in dict.fromkeys(report.errors):
            print(f"  - {error}", file=sys.stderr)
        print(f"The published warehouse {warehouse} was left unchanged.", file=sys.stderr)
        return 1
    print(f"\nrefresh finished in {report.seconds:.1f}s (run {report.run_id})")
    print(f"warehouse: {warehouse}")
    for table, rows in _warehouse_summary():
        print(f"  {table:<40} {rows:>9,} rows")
    return 0


# ------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nocfit",
        description="NOC 2021 warehouse, job-title mapper and Express Entry category fit.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    refresh = commands.add_parser(
        "refresh",
        help="ingest sources and rebuild everything into the warehouse",
        description="Materialise every Dagster asset into the warehouse (NOCFIT_WAREHOUSE), reading "
        "official files from NOCFIT_SOURCES or downloading them into the cache.",
    )
    refresh.add_argument("--force", action="store_true", help="rebuild even what did not change")
    refresh.add_argument(
        "--download", action="store_true", help="re-download the official files into the cache first"
    )
    refresh.set_defaults(func=cmd_refresh)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"nocfit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nocfit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
