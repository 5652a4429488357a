"""`nocfit fit`: assess a candidates file against the category lists in force, print and save.

Needs what a prior `nocfit refresh` produced: the promoted mapper model and the category lists in
the published warehouse. ``--as-of`` is the assessment date for candidates whose record has no
``as_of`` (default: today); a record's own ``as_of`` always wins.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TextIO

from nocfit import config


class FitSetupError(RuntimeError):
    """A prerequisite (model, warehouse, input) is missing; the message says what to do."""


def load_reference():
    """(model, category versions, NOC titles) from the model store and the published warehouse."""
    from mapper.model import ModelError
    from nocfit.categories.load import versions_from_warehouse
    from nocfit.ingest.noc_tables import unit_group_titles
    from nocfit.model_store import ModelStore
    from warehouse.connection import WarehouseUnavailable, connect

    try:
        with connect() as con:
            versions = versions_from_warehouse(con)
            noc_titles = unit_group_titles(con)
    except WarehouseUnavailable as exc:
        raise FitSetupError(str(exc)) from None
    except Exception as exc:  # an old snapshot without the tables
        raise FitSetupError(
            f"the warehouse {config.warehouse_path()} has no category data ({exc}); run `uv run nocfit refresh`"
        ) from None
    if not versions:
        raise FitSetupError("the warehouse holds no category lists: run `uv run nocfit refresh`")
    try:
        model = ModelStore.default().load_current()
    except ModelError as exc:
        raise FitSetupError(str(exc)) from None
    return model, versions, noc_titles


def _main_reason(result) -> str:
    reasons = list(result.reasons)
    if not reasons:
        return ""
    # The first reason is the verdict; when it only restates the rule ("needs ..." with no
    # finding after a semicolon), the next one says what was found.
    first = reasons[0]
    if first.startswith("needs") and ";" not in first and len(reasons) > 1:
        return reasons[1]
    return first


def print_results(assessment, out: TextIO, *, width: int = 100) -> None:
    print(
        f"{len(assessment.candidates)} candidate(s) loaded, {len(assessment.rejects)} rejected, "
        f"{len(assessment.results)} category assessment(s)",
        file=out,
    )
    for reject in assessment.rejects:
        print(f"  rejected {reject}", file=out)
    today = dt.date.today()
    for candidate in assessment.candidates:
        if assessment.versions.get(candidate.candidate_id) is None:
            print(f"  {candidate.candidate_id}: no category list was in force on {candidate.as_of}", file=out)
        elif candidate.as_of > today:
            ongoing = any(s.end is None or s.end > today for s in candidate.work_experience)
            print(
                f"  note: {candidate.candidate_id} is assessed on {candidate.as_of}, after today ({today}): "
                "the latest category list is assumed to stay in force"
                + (", and work after today is counted as if it happened" if ongoing else ""),
                file=out,
            )
    if not assessment.results:
        return
    print(
        f"\n{'candidate':<14} {'version':<9} {'category':<36} {'fit':<5} {'conf':>5}  main reason", file=out
    )
    for r in assessment.results:
        fit = "n/a" if r.fit is None else ("YES" if r.fit else "no")
        conf = "  -  " if r.confidence is None else f"{r.confidence:5.2f}"
        line = f"{r.candidate_id[:14]:<14} {r.version_id:<9} {r.category_id[:36]:<36} {fit:<5} {conf}  {_main_reason(r)}"
        print(line[: width + 60], file=out)


def write_results(assessment, path: Path) -> int:
    from nocfit.output_file import written_whole

    with written_whole(path) as out:
        for result in assessment.results:
            out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    return len(assessment.results)


def run(input_path: Path, *, as_of: dt.date | None, output: Path | None, out: TextIO | None = None) -> int:
    from nocfit.assess import assess_file
    from nocfit.output_file import OutputPathError, batch_exit_code, check_output_path

    out = out or sys.stdout
    if input_path.is_dir():
        raise FitSetupError(f"the input {input_path} is a folder; give a candidates file (.jsonl)")
    if not input_path.is_file():
        raise FitSetupError(f"input file {input_path} does not exist")
    try:
        if output is not None:
            check_output_path(output, input_path=input_path)  # before the work, not after
    except OutputPathError as exc:
        raise FitSetupError(str(exc)) from None
    model, versions, noc_titles = load_reference()
    assessment = assess_file(
        input_path,
        model=model,
        versions=versions,
        default_as_of=as_of or dt.date.today(),
        noc_titles=noc_titles,
    )
    print_results(assessment, out)
    if output is not None and assessment.rejects and not assessment.candidates:
        print(f"\nevery line was rejected: nothing assessed, {output} left as it was", file=out)
    elif output is not None:
        try:
            n = write_results(assessment, output)
        except OutputPathError as exc:
            raise FitSetupError(str(exc)) from None
        print(f"\nwrote {n} assessment(s) to {output}", file=out)
    return batch_exit_code(done=len(assessment.candidates), bad=len(assessment.rejects))
