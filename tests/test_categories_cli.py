"""`nocfit categories`: the list in force on a date, and the JSON Schema of the curated files."""

from __future__ import annotations

import datetime as dt
import json

from nocfit.cli import main


def test_list_in_force_on_a_date(capsys) -> None:
    assert main(["categories", "--on", "2026-06-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cbs-2026")
    assert "physicians_canadian_experience" in out and "continuity unknown" in out
    assert "skilled_military_recruits" in out and "not assessable" in out
    assert main(["categories", "--on", "2025-06-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cbs-2025") and "physicians_canadian_experience" not in out  # from 2025-12-08
    assert main(["categories", "--on", "2020-01-01"]) == 0
    assert "No category list was in force" in capsys.readouterr().out


def test_a_future_date_is_said_to_assume_the_latest_list(capsys) -> None:
    future = dt.date.today() + dt.timedelta(days=400)
    assert main(["categories", "--on", future.isoformat()]) == 0
    assert f"note: {future} is in the future; this is the latest list nocfit knows" in capsys.readouterr().out
    assert main(["categories", "--on", "2026-06-01"]) == 0  # a past date of the same list: no note
    assert "note:" not in capsys.readouterr().out


def test_schema_and_bad_date(capsys) -> None:
    assert main(["categories", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "categories" in schema["properties"] and "Rules" in schema["$defs"]
    for bad in ["June", "20260601", "2026-W23-1", ""]:  # only YYYY-MM-DD, as in candidate files
        assert main(["categories", "--on", bad]) == 2
        assert "not a date like 2026-06-01" in capsys.readouterr().err
