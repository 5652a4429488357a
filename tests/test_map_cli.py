"""`nocfit map`: single queries (table, JSON) and batch files (JSON Lines, CSV, bad lines)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nocfit.cli import main


def test_single_query_prints_a_table(cloned, capsys) -> None:
    assert main(["map", "Registered Nurse"]) == 0
    out = capsys.readouterr().out
    assert "31301" in out and "Registered nurses and registered psychiatric nurses" in out
    assert "titles:" in out


def test_title_and_duties_json(cloned, capsys) -> None:
    assert (
        main(
            [
                "map",
                "--title",
                "Cook",
                "--duties",
                "Prepare and cook meals. Order supplies.",
                "--json",
                "--top-k",
                "3",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [s["code"] for s in data["suggestions"]][0] == "63200" and len(data["suggestions"]) == 3
    assert data["suggestions"][0]["evidence"]["duty_alignment"][0]["input_duty"] == "Prepare and cook meals"
    assert set(data) >= {"ambiguous", "title_duties_disagree"}


def test_input_without_an_official_word_says_so(cloned, capsys) -> None:
    assert main(["map", "qwxzq zzkvb"]) == 0
    out = capsys.readouterr().out
    assert "No suggestion" in out and "official NOC texts" in out


def test_a_title_misspelt_in_every_word_says_how_it_was_read(cloned, capsys) -> None:
    assert main(["map", "REGISTERD NRSE"]) == 0
    out = capsys.readouterr().out
    assert "Title read as: registered nurse" in out and "31301" in out
    assert main(["map", "REGISTERD NRSE", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["title_read_as"] == "registered nurse"


def test_free_text_with_several_lines_is_title_then_duties(cloned, capsys) -> None:
    assert (
        main(["map", "Truck driver\nDrive tractor-trailers on long-haul routes. Inspect vehicles.", "--json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["suggestions"][0]["code"] == "73300"


def test_batch_jsonl_reports_bad_lines_and_maps_the_rest(cloned, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "title": "Welder", "duties": ""}),
        "{not json",
        json.dumps({"id": "b", "title": "", "duties": "Prepare and cook complete meals. Plan menus."}),
        json.dumps({"title": "no id"}),
        "",
        json.dumps({"id": 7, "title": "Cashier"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "c", "title": "", "duties": ""}),
        json.dumps({"id": "d", "title": "WLDER"}),
    ]
    source.write_text("\n".join(lines) + "\n")
    target = tmp_path / "out" / "result.jsonl"
    assert main(["map", "--input", str(source), "--output", str(target), "--top-k", "2"]) == 0
    err = capsys.readouterr().err
    for number in (2, 4, 7, 8):
        assert f"line {number}:" in err
    assert "mapped 4 line(s)" in err and "4 bad line(s)" in err
    rows = [json.loads(x) for x in target.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "7", "d"]
    assert "title_read_as" not in rows[0] and rows[3]["title_read_as"] == "welder"
    assert rows[3]["suggestions"][0]["code"] == "72106"
    assert (
        rows[0]["suggestions"][0]
        == {
            **rows[0]["suggestions"][0],
            "code": "72106",
        }
        and len(rows[0]["suggestions"]) == 2
    )
    assert all(0 <= s["confidence"] <= 1 for r in rows for s in r["suggestions"])
    assert rows[1]["suggestions"][0]["code"] == "63200"


def test_batch_csv_in_and_out(cloned, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "duties"])
        writer.writerow(["1", "Carpenter", "Frame walls and install doors, windows and stairs"])
        writer.writerow(["2", "", ""])
        writer.writerow(["3", "Bus driver", ""])
        writer.writerow(["4", "qwxzq", ""])  # no official word: a row with no code, not a lost id
    target = tmp_path / "out.csv"
    assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 0
    rows = list(csv.DictReader(target.open()))
    assert {r["id"] for r in rows} == {"1", "3", "4"}
    assert [r["code"] for r in rows if r["id"] == "4"] == [""]
    first = [r for r in rows if r["id"] == "1" and r["rank"] == "1"][0]
    assert first["code"] == "72310"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["map"], "give a query"),
        (["map", "--input", "x.jsonl"], "both --input and --output"),
        (["map", "--input", "/nonexistent.jsonl", "--output", "o.jsonl"], "does not exist"),
        (["map", "cook", "--top-k", "0"], "--top-k"),
    ],
)
def test_usage_errors(cloned, argv, message, capsys) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_missing_model_says_to_refresh(nocfit_home, capsys) -> None:
    assert main(["map", "cook"]) == 2
    assert "nocfit refresh" in capsys.readouterr().err


def test_unknown_batch_format(cloned, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.txt"
    source.write_text("id,title\n1,cook\n")
    assert main(["map", "--input", str(source), "--output", str(tmp_path / "o.txt")]) == 2
    assert "--format" in capsys.readouterr().err
