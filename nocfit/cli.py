"""The ``nocfit`` command line."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from collections.abc import Iterator, Sequence

from nocfit import config

#: `nocfit refresh` published, but something needs a look (WARNING lines say what): a download
#: failed and an older copy was used, or the new model was kept back. Not 0, so that a cron job
#: or a service manager notices; not 1, which means nothing was published.
EXIT_WARNINGS = 3


class UsageError(Exception):
    """A problem the user can fix (bad input, missing prerequisites): printed without a traceback."""


def _date_option(flag: str, value: str) -> dt.date:
    """A YYYY-MM-DD date, the one form candidate files accept too (not 20260601 or 2026-W23-1)."""
    from nocfit.fit.candidates import DATE_PATTERN

    try:
        if not DATE_PATTERN.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a date like 2026-06-01") from None


# ------------------------------------------------------------------------------ refresh
def _warehouse_summary() -> list[tuple[str, int]]:
    from warehouse.connection import connect
    from warehouse.tables import row_count

    with connect() as con:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema <> 'meta' ORDER BY 1"
        ).fetchall()
        return [(name, row_count(con, name)) for (name,) in tables]


def _refresh_failed(what: str, report, outcome: str) -> int:
    if report.interrupted:
        raise KeyboardInterrupt  # "nocfit: interrupted", exit 130; the snapshot was not published
    print(f"\n{what} FAILED after {report.seconds:.1f}s (run {report.run_id}):", file=sys.stderr)
    for error in dict.fromkeys(report.errors):
        print(f"  - {error}", file=sys.stderr)
    print(outcome, file=sys.stderr)
    return 1


def cmd_refresh(args: argparse.Namespace) -> int:
    from nocfit.runner import run_job
    from pipelines.defs.automation import REFRESH_DOWNLOADS_CONFIG
    from pipelines.defs.candidates import BATCHES, EXAMPLES_BATCH
    from pipelines.defs.common import FORCE_TAG, RETRAIN_TAG

    warehouse = config.warehouse_path()
    print(f"nocfit refresh -> {warehouse}")
    print(f"sources: {config.sources_dir()}{' (download cache)' if config.sources_dir_is_default() else ''}")
    tags = {FORCE_TAG: "true"} if args.force else {}
    if args.retrain:
        tags[RETRAIN_TAG] = "true"
    run_config = REFRESH_DOWNLOADS_CONFIG if args.download else {}
    if args.download and not config.sources_dir_is_default():
        print(
            "note: --download re-downloads only into nocfit's own cache; NOCFIT_SOURCES names "
            "your folder, which is read as it is (only missing required files are downloaded)"
        )
    report = run_job("refresh", tags=tags, run_config=run_config)
    if not report.success:
        return _refresh_failed("refresh", report, f"The published warehouse {warehouse} was left unchanged.")
    print("\nassessing the example candidates (data/examples/candidates.jsonl)")
    examples = run_job(
        "assess_candidates",
        tags={FORCE_TAG: "true"} if args.force else {},
        partition_key=EXAMPLES_BATCH,
        add_partition=(BATCHES.name, EXAMPLES_BATCH),
    )
    if not examples.success:
        return _refresh_failed(
            "assessing the example candidates",
            examples,
            f"The refresh itself was published to {warehouse}; only the examples' new assessment is missing.",
        )
    print(f"\nrefresh finished in {report.seconds:.1f}s (run {report.run_id})")
    print(f"warehouse: {warehouse}")
    for table, rows in _warehouse_summary():
        print(f"  {table:<40} {rows:>9,} rows")
    warnings = [
        f"the new mapper model was NOT promoted; the current one is kept ({reason})"
        for reason in report.held_back
    ] + list(dict.fromkeys(report.warnings))
    for warning in warnings:
        print(f"WARNING: {warning}")
    if warnings:
        print(f"published with {len(warnings)} warning(s): exit code {EXIT_WARNINGS}")
        return EXIT_WARNINGS
    return 0


@contextlib.contextmanager
def _stop_signals_as_interrupt() -> Iterator[None]:
    """SIGTERM (a `kill`) and SIGHUP (a closed terminal) unwind like Ctrl-C, so no temporary or
    ``.part`` file of candidates' data is left behind; the previous handlers come back after."""
    import signal

    from nocfit.map_command import STOP_SIGNALS

    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt

    # SIGINT already raises KeyboardInterrupt, unless the shell ignores it (a background job).
    stops = [getattr(signal, name) for name in STOP_SIGNALS if name != "SIGINT"]
    previous = {stop: signal.signal(stop, interrupt) for stop in stops}
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


# ------------------------------------------------------------------------------ map
def cmd_map(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from nocfit import map_command as mc

    if args.input or args.output:
        if not (args.input and args.output):
            raise UsageError("batch mapping needs both --input and --output")
        if args.text or args.title or args.duties:
            raise UsageError("give either a query or --input/--output, not both")
        if args.json:
            raise UsageError(
                "--json is for one query; a batch's output format comes from --output's extension "
                "(or --output-format)"
            )
        if args.input != mc.STDIO:
            source = Path(args.input)
            if source.exists() and not source.is_file():
                raise UsageError(
                    f"the input {args.input} is not a regular file (a folder or a pipe); "
                    "to read a pipe, use --input - and standard input"
                )
            if not source.is_file():
                raise UsageError(f"input file {args.input} does not exist")
    elif not any((value or "").strip() for value in (args.text, args.title, args.duties)):
        raise UsageError('give a query: nocfit map "job title or description", or --title/--duties')
    elif args.text and (args.title or args.duties):
        raise UsageError("give the query either as text or with --title/--duties, not both")
    if not 1 <= args.top_k <= 20:
        raise UsageError("--top-k must be between 1 and 20")
    try:
        if args.input:  # before the model loads: a usage error should not wait for it
            mc.check_format_option([Path(args.input)], args.input_format, "--input-format")
            mc.check_format_option([Path(args.output)], args.output_format, "--output-format")
        model = mc.load_model(Path(args.model) if args.model else None)
        if args.input:
            with (
                _stop_signals_as_interrupt(),
                mc.standard_streams(args.input, args.output) as (source, target),
            ):
                report = mc.map_batch_file(
                    model,
                    source,
                    target,
                    top_k=args.top_k,
                    input_format=mc.input_format_for(args.input, source, args.input_format or args.format),
                    output_format=mc.output_format_for(args.output, args.output_format or args.format),
                    evidence=args.evidence,
                    progress=not args.quiet,
                )
            mc.print_batch_report(
                report,
                mc.STDIN_NAME if args.input == mc.STDIO else args.input,
                mc.STDOUT_NAME if args.output == mc.STDIO else args.output,
                sys.stderr,
            )
            return report.exit_code
    except mc.MapInputError as exc:
        raise UsageError(str(exc)) from None
    except mc.WorkerError as exc:  # a fault of ours, not the input's; nothing was written
        print(f"nocfit map: error: {exc}", file=sys.stderr)
        return 1
    title, duties = args.title or "", args.duties or ""
    if args.text:
        title, duties = mc.split_free_text(args.text)
    mapping = model.map(title, duties, top_k=args.top_k, evidence=True)
    if args.json:
        print(json.dumps(mapping.to_dict(), ensure_ascii=False, indent=2))
    else:
        mc.print_table(mapping, title, duties, sys.stdout)
    return 0


# ------------------------------------------------------------------------------ fit
def cmd_fit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nocfit.fit_command import FitSetupError, run

    as_of = _date_option("--as-of", args.as_of) if args.as_of is not None else None
    try:
        with _stop_signals_as_interrupt():
            return run(Path(args.candidates), as_of=as_of, output=Path(args.output) if args.output else None)
    except FitSetupError as exc:
        raise UsageError(str(exc)) from None


# ------------------------------------------------------------------------------ categories
def cmd_categories(args: argparse.Namespace) -> int:
    from nocfit.categories_command import print_in_force, print_schema

    if args.schema:
        print_schema(sys.stdout)
        return 0
    day = _date_option("--on", args.on) if args.on is not None else dt.date.today()
    return print_in_force(day, sys.stdout)


# ------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    from nocfit.map_command import FREE_TEXT_TITLE_WORDS

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
    refresh.add_argument(
        "--force", action="store_true", help="rebuild every table even if its sources did not change"
    )
    refresh.add_argument(
        "--retrain", action="store_true", help="retrain the mapper even if the data and code did not change"
    )
    refresh.add_argument(
        "--download", action="store_true", help="re-download the official files into the cache first"
    )
    refresh.set_defaults(func=cmd_refresh)

    mapper = commands.add_parser(
        "map",
        help="map job titles and duties to NOC 2021 codes",
        description="Suggest NOC 2021 unit groups for a job title and/or duties, with calibrated "
        "confidence and evidence. One query prints a table (or --json); --input/--output maps a "
        "JSON Lines or CSV file (columns id, title, duties).",
    )
    mapper.add_argument(
        "text",
        nargs="?",
        help="free text: a title, or the title on the first line and duties below; one line of "
        f"more than {FREE_TEXT_TITLE_WORDS} words is read as duties",
    )
    mapper.add_argument("--title", help="the job title")
    mapper.add_argument("--duties", help="the duties (lines or sentences)")
    mapper.add_argument("--json", action="store_true", help="print JSON instead of a table")
    mapper.add_argument("--top-k", type=int, default=5, help="number of suggestions (default 5)")
    mapper.add_argument(
        "--input", help="batch input file (.jsonl, .json array or .csv; - for standard input)"
    )
    mapper.add_argument("--output", help="batch output file (.jsonl or .csv; - for standard output)")
    formats = ["jsonl", "csv", "tsv"]
    mapper.add_argument(
        "--format",
        choices=formats,
        help="batch format of input and output when their names do not tell (- or no extension)",
    )
    mapper.add_argument(
        "--input-format", choices=formats, help="the input's format, when its name does not tell"
    )
    mapper.add_argument(
        "--output-format", choices=formats, help="the output's format, when its name does not tell"
    )
    mapper.add_argument("--evidence", action="store_true", help="include evidence in batch output")
    mapper.add_argument("--quiet", action="store_true", help="no progress bar")
    mapper.add_argument("--model", help="model file (default $NOCFIT_MODELS/current.pkl)")
    mapper.set_defaults(func=cmd_map)

    fit = commands.add_parser(
        "fit",
        help="assess candidates against the Express Entry categories in force",
        description="Read candidates (JSON Lines, see README), map their work experience and assess "
        "every category of the list in force on each candidate's as_of date. Needs a prior "
        "`nocfit refresh` (trained model and category data).",
    )
    fit.add_argument("candidates", help="candidates file (.jsonl)")
    fit.add_argument("--as-of", help="assessment date for records without as_of (default: today)")
    fit.add_argument("--output", help="write one JSON line per candidate x category here")
    fit.set_defaults(func=cmd_fit)

    categories = commands.add_parser(
        "categories",
        help="show the category list in force on a date (from data/categories)",
        description="Validate the curated category files and show the version in force on a date, "
        "with each category's rule; --schema prints the JSON Schema the files follow.",
    )
    categories.add_argument("--on", help="date (default: today)")
    categories.add_argument(
        "--schema", action="store_true", help="print the JSON Schema of the category files"
    )
    categories.set_defaults(func=cmd_categories)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config.check_environment()
        return int(args.func(args) or 0)
    except (UsageError, config.ConfigError) as exc:
        print(f"nocfit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nocfit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except OSError as exc:  # the machine's, not ours: a full disk, a closed stream
        where = f": {exc.filename}" if exc.filename else ""
        print(f"nocfit: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
