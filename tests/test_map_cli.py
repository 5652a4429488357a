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
    assert "titles:" in out and "(1.00: the official title holds every word of yours)" in out
    assert "LOW CONFIDENCE" not in out
    assert main(["map", "Teacher"]) == 0  # a bare role word: a guess, though no close runner-up
    out = capsys.readouterr().out
    assert "! LOW CONFIDENCE: a best code at" in out and "the duties would help" in out
    # The 1.00 note only where a 1.00 match is shown; a title past 300 characters says it was cut.
    assert main(["map", "Tim Hortons Crew Member"]) == 0  # its closest titles are under 0.6
    assert "(1.00:" not in capsys.readouterr().out
    assert main(["map", "--title", "x " * 160 + "Registered Nurse"]) == 0
    assert "only the first 300 characters of the title are read" in capsys.readouterr().out


def test_table_shows_each_duty_line_and_what_coverage_counts(cloned, capsys) -> None:
    assert main(["map", "--title", "Cook", "--duties", "Prepare and cook meals. Order supplies."]) == 0
    out = capsys.readouterr().out
    assert "of the code's main duties at similarity >= 0.25):" in out
    assert "- Prepare and cook meals  ->  " in out and "- Order supplies  ->  " in out


def test_table_says_which_duty_lines_it_leaves_out(cloned, capsys) -> None:
    letter = "\n".join(
        ["ABC Logistics Inc", "To Whom It May Concern"]
        + [f"Drove trucks on route {i} and checked the loads" for i in range(50)]
    )
    assert main(["map", "--duties", letter]) == 0
    out = capsys.readouterr().out
    assert out.count("- Drove trucks on route") == 6  # 8 lines shown, the letterhead first
    assert "... and 32 more lines (--json shows all)" in out
    assert "only the first 40 of 52 duty lines are aligned" in out
    assert main(["map", "--duties", "Drive trucks. Check loads."]) == 0
    out = capsys.readouterr().out
    assert "more lines" not in out and "are aligned" not in out


def test_french_duties_are_said_to_be_read_as_english(cloned, capsys) -> None:
    french = "Préparer des repas et des plats. Commander les aliments et gérer la cuisine."
    assert main(["map", "--title", "Cuisinier", "--duties", french]) == 0
    assert "! DUTIES LOOK FRENCH" in capsys.readouterr().out
    assert main(["map", "--title", "Cook", "--duties", "Prepare and cook meals. Order supplies."]) == 0
    assert "LOOK FRENCH" not in capsys.readouterr().out
    assert main(["map", "--title", "Cuisinier", "--duties", french, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["duties_look_french"] is True


def test_batch_output_says_which_duties_look_french(cloned, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [
        {"id": "fr", "title": "Cuisinier", "duties": "Préparer des repas et gérer la cuisine."},
        {"id": "en", "title": "Cook", "duties": "Prepare and cook meals. Order supplies."},
        {"id": "none", "title": "qwxzq", "duties": "Qwxzq de la et des zzyq."},  # no suggestion: still said
    ]
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    for name in ("out.jsonl", "out.csv"):
        target = tmp_path / name
        assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 0
        if name.endswith(".jsonl"):
            flags = {
                r["id"]: r["duties_look_french"] for r in map(json.loads, target.read_text().splitlines())
            }
            assert flags == {"fr": True, "en": False, "none": True}
        else:
            flags = {r["id"]: r["duties_look_french"] for r in csv.DictReader(target.open())}
            assert flags == {"fr": "True", "en": "False", "none": "True"}


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
    # 3: written, but some lines were bad (0 only when every line was mapped)
    assert main(["map", "--input", str(source), "--output", str(target), "--top-k", "2"]) == 3
    err = capsys.readouterr().err
    for number in (2, 4, 7, 8):
        assert f"line {number}:" in err
    assert "mapped 4 line(s)" in err and "4 bad line(s)" in err
    rows = [json.loads(x) for x in target.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", 7, "d"]  # an integer id stays an integer
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


def test_batch_json_array_in(cloned, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.json"
    items = [
        {"id": "a", "title": "Welder"},
        {"title": "no id"},
        {"id": "b", "duties": "Prepare and cook meals."},
    ]
    source.write_text("\ufeff" + json.dumps(items, indent=2))  # an array over many lines, with a BOM
    target = tmp_path / "out.jsonl"
    assert _map_file(source, target) == 3
    err = capsys.readouterr().err
    assert "item 2: missing id" in err and "mapped 2 item(s)" in err and "1 bad item(s)" in err
    rows = [json.loads(x) for x in target.read_text().splitlines()]
    assert [(r["id"], r["suggestions"][0]["code"]) for r in rows] == [("a", "72106"), ("b", "63200")]

    source.write_text(json.dumps(items)[:-1])  # cut short: nothing in it can be trusted
    assert _map_file(source, target) == 2
    assert "in.json: not a valid JSON array" in capsys.readouterr().err
    assert len(target.read_text().splitlines()) == 2  # the earlier result is untouched

    # JSON Lines whose first line is an array: that line is bad, the rest is mapped.
    source.write_text(" " * 70_000 + '["a", "b"]\n{"id": "c", "title": "Cook"}\n')
    assert _map_file(source, target) == 3
    err = capsys.readouterr().err
    assert "line 1: expected an object" in err and "mapped 1 line(s)" in err
    # ... also when a later line is not UTF-8: that line is bad, not the whole file.
    source.write_bytes(b'["a"]\n{"id": "c", "title": "Cook"}\n{"id": "d", "title": "\xff"}\n')
    assert _map_file(source, target) == 3
    err = capsys.readouterr().err
    assert "line 3: not UTF-8 text" in err and "mapped 1 line(s)" in err

    # An array's fault says where it is, however far into the file.
    source.write_text(json.dumps([{"id": str(i), "title": "Cook"} for i in range(3)], indent=1)[:-2] + "x]")
    assert _map_file(source, target) == 2
    assert "in.json: not a valid JSON array: expected ',' or ']' after an item: line 13 column 3" in (
        capsys.readouterr().err
    )


def test_a_column_that_looks_like_the_title_is_not_ignored(cloned, tmp_path: Path, capsys) -> None:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("id,Job Title,Duties\n1,Registered Nurse,Answered phones\n")
    assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "'Job Title' is not read" in err and "rename 'Job Title' to 'title'" in err
    assert not target.exists()
    source.write_text("id;TITLE;Main duties\n1;Cook;Prepare meals\n")
    assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 2
    assert "rename 'Main duties' to 'duties'" in capsys.readouterr().err
    # Other columns are still just ignored, and any case of the three names is read.
    source.write_text("ID,Title,Employer\n1,Cook,Hotel Vancouver\n")
    assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 0
    assert next(csv.DictReader(target.open()))["code"] == "63200"


def test_jsonl_keys_in_any_case_and_lookalike_keys(cloned, tmp_path: Path, capsys) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        {"ID": "a", "Title": "Cook"},
        {"id": "b", "job_title": "Cook", "duties": "Prepare meals"},
        {"id": "c", "title": "Welder", "Title": "Cook"},  # the name written exactly wins
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 3
    rows = {r["id"]: r for r in map(json.loads, target.read_text().splitlines())}
    assert rows["a"]["suggestions"][0]["code"] == "63200" and "b" not in rows
    assert rows["c"]["suggestions"][0]["code"] == "72106"
    assert "line 2: 'job_title' is not read" in capsys.readouterr().err


def test_pretty_printed_json_is_refused_with_a_hint(cloned, tmp_path: Path, capsys) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"id": "1", "title": "Cook"}, indent=2) + "\n")  # as `jq .` writes
    assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 2
    assert "one object per line (`jq -c .`)" in capsys.readouterr().err and not target.exists()


def test_batch_output_names_what_disagrees(cloned, tmp_path: Path) -> None:
    truck = "Drive a tractor-trailer on long-haul routes. Inspect the truck before trips. Keep the logbook."
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "1", "title": "Software Developer", "duties": truck}) + "\n")
    for name in ("out.jsonl", "out.csv"):
        target = tmp_path / name
        assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 0
        row = (
            json.loads(target.read_text()) if name.endswith(".jsonl") else next(csv.DictReader(target.open()))
        )
        assert str(row["title_duties_disagree"]) == "True"
        assert (row["title_only_code"], row["duties_only_code"]) == ("21232", "73300")


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
    assert main(["map", "--input", str(source), "--output", str(target), "--quiet"]) == 3
    rows = list(csv.DictReader(target.open()))
    assert {r["id"] for r in rows} == {"1", "3", "4"}
    assert [r["code"] for r in rows if r["id"] == "4"] == [""]
    first = [r for r in rows if r["id"] == "1" and r["rank"] == "1"][0]
    assert first["code"] == "72310"
    assert (first["title_duties_disagree"], first["title_read_as"]) == ("False", "")
    assert (first["title_only_code"], first["duties_only_code"]) == ("", "")


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


# -- batch files as people really write them ---------------------------------------------------------


def _fresh(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def _map_file(source: Path, target: Path, *extra: str) -> int:
    return main(["map", "--input", str(source), "--output", str(target), "--quiet", *extra])


def test_csv_from_excel_bom_semicolons_header_case_and_long_fields(cloned, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.csv"
    long_duties = "Weld metal parts. " * 20_000  # 360,000 characters: over csv's default field limit
    rows = [
        " ID ; Title ; Duties",
        "1;Soudeur;",
        f"2;Welder;{long_duties}",
        "3;Cook;Prepare meals;extra cell",
        "4;Nurse",
    ]
    source.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode("utf-8") + b"\r\n")
    target = tmp_path / "out.jsonl"
    assert _map_file(source, target) == 3
    err = capsys.readouterr().err
    assert "line 4: 4 cells but the header has 3 (a semicolon inside a field that is not quoted?)" in err
    rows_out = {r["id"]: r for r in map(json.loads, target.read_text().splitlines())}
    assert sorted(rows_out) == ["1", "2", "4"]  # a short row (no duties) is fine
    assert rows_out["2"]["suggestions"]  # read and mapped (its duties cut to 20,000 characters)


def test_lines_ending_in_a_lone_cr_are_lines(cloned, tmp_path: Path, capsys) -> None:
    # Classic Mac OS line endings (Excel's "CSV (Macintosh)"): each CR ends a line.
    source, target = tmp_path / "mac.csv", tmp_path / "out.jsonl"
    source.write_bytes(b"id,title,duties\r1,Cook,\r2,,\r3,Welder,\r")
    assert _map_file(source, target) == 3
    assert "mac.csv, line 3: title and duties are both empty" in capsys.readouterr().err
    rows = [json.loads(x) for x in target.read_text().splitlines()]
    assert [(r["id"], r["suggestions"][0]["code"]) for r in rows] == [("1", "63200"), ("3", "72106")]
    source.write_bytes(b'{"id": "a", "title": "Cook"}\r{"id": "b", "title": "Welder"}')
    jsonl = tmp_path / "mac.jsonl"
    source.rename(jsonl)
    assert _map_file(jsonl, target) == 0
    assert [json.loads(x)["id"] for x in target.read_text().splitlines()] == ["a", "b"]


def test_every_bad_line_is_named_and_an_all_bad_file_leaves_the_output_alone(
    cloned, tmp_path: Path, capsys
) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text('{"id": "1", "title": "Cook"}\n' + "{broken\n" * 120)
    assert _map_file(source, target) == 3
    err = capsys.readouterr().err
    assert all(f"in.jsonl, line {n}:" in err for n in range(2, 122))  # not only the first 50
    assert "mapped 1 line(s)" in err and "120 bad line(s)" in err
    before = target.read_text()
    source.write_text("{broken\n" * 3)  # every line bad: the earlier result must survive
    assert _map_file(source, target) == 1
    err = capsys.readouterr().err
    assert f"every line is bad: nothing mapped, {target} left as it was" in err
    assert target.read_text() == before and not (tmp_path / "out.jsonl.part").exists()
    source.write_text('{"id": "1", "title": "Cook"}\n', encoding="utf-16")  # with its BOM
    assert _map_file(source, target) == 2
    assert "in.jsonl is UTF-16 text, not UTF-8; save the file as UTF-8" in capsys.readouterr().err
    source.write_text("\n\n")  # nothing to map is no error, but it is said
    assert _map_file(source, target) == 0
    assert "note: " in capsys.readouterr().err and target.read_text() == ""


def test_tsv_in_and_out(cloned, tmp_path: Path) -> None:
    source = tmp_path / "in.tsv"
    source.write_text("id\ttitle\tduties\n1\tBus driver\t\n")
    target = tmp_path / "out.tsv"
    assert _map_file(source, target) == 0
    header, first = target.read_text().splitlines()[:2]
    assert header.split("\t")[:3] == ["id", "rank", "code"] and first.split("\t")[:3] == ["1", "1", "73301"]


def test_broken_csv_stops_before_any_output(cloned, tmp_path: Path, capsys) -> None:
    tmp_path = _fresh(tmp_path)  # the installation lives in tmp_path too
    unclosed = tmp_path / "unclosed.csv"  # row 2's quote never closes: rows 3-4 would vanish into it
    unclosed.write_text(
        'id,title,duties\n1,welder,Weld metal\n2,"cook,Prepare meals\n3,nurse,Care\n4,driver,Drive\n'
    )
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("id,title,duties\n1,nurse,\n2,Électricien,\n".encode("cp1252"))
    for source, message in [
        (unclosed, "unclosed.csv, line 3: unexpected end of data"),
        (latin1, "line 3: not UTF-8"),
    ]:
        assert _map_file(source, tmp_path / "out.jsonl") == 2
        assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latin1.csv", "unclosed.csv"]  # no output, no .part


def test_jsonl_bad_encoding_and_ids_are_bad_lines(cloned, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        b'{"id": "a", "title": "nurse"}',
        '{"id": "b", "title": "\u00c9lectricien"}'.encode("cp1252"),
        b'{"id": "\\ud800", "title": "cook"}',  # valid JSON, but no id can be written back
        b'{"id": "c", "title": "\\ud800 cook"}',  # in a title it is read as U+FFFD
        ('{"id": "%s", "title": "cook"}' % ("x" * 201)).encode(),
        b'{"id": "a", "title": "welder"}',
    ]
    source.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    target = tmp_path / "out.jsonl"
    assert _map_file(source, target) == 3
    err = capsys.readouterr().err
    assert "line 2: not UTF-8 text" in err and "line 3: id is not valid Unicode" in err
    assert "line 5: id is longer than 200 characters" in err
    assert "1 id(s) appear on several lines ('a' on lines 1, 6); every line was mapped" in err
    assert [json.loads(x)["id"] for x in target.read_text().splitlines()] == ["a", "c", "a"]


def test_output_that_would_destroy_the_input_is_refused(cloned, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "1", "title": "nurse"}\n')
    part = tmp_path / "res.jsonl.part"
    part.write_text(source.read_text())
    assert _map_file(source, source) == 2
    assert _map_file(part, tmp_path / "res.jsonl", "--format", "jsonl") == 2
    assert capsys.readouterr().err.count("is the input file") == 2
    assert source.read_text() == part.read_text() == '{"id": "1", "title": "nurse"}\n'


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["map", "   "], "give a query"),
        (["map", "nurse", "--title", "welder"], "either as text or with --title/--duties"),
        (["map", "--input", "in.jsonl", "--output", "o.jsonl", "--json"], "--json is for one query"),
        (["map", "--input", "in.jsonl", "--output", "o.csv", "--evidence"], "--evidence needs JSON Lines"),
        (["map", "--input", "in.jsonl", "--output", "o.csv", "--format", "jsonl"], "extension does not tell"),
        (["map", "--input", "in.jsonl", "--output", "-", "--input-format", "csv"], "--input-format is only"),
        (["map", "--input", ".", "--output", "o.jsonl"], "to read a pipe, use --input -"),
    ],
)
def test_batch_usage_errors(cloned, tmp_path: Path, monkeypatch, argv, message, capsys) -> None:
    tmp_path = _fresh(tmp_path)  # the installation lives in tmp_path too
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"id": "1", "title": "nurse"}\n')
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_format_option_names_the_file_whose_extension_does_not_tell(cloned, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text('{"id": "1", "title": "nurse"}\n')
    target = tmp_path / "out.csv"
    assert _map_file(source, target, "--format", "jsonl") == 0
    assert target.read_text().splitlines()[1].startswith("1,1,31301,")


def _run_cli(args: list[str], stdin: str) -> tuple[int, str, str]:
    """`nocfit` in a child process (its own standard streams), in the test installation."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-c", "import sys; from nocfit.cli import main; sys.exit(main())", *args]
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    return done.returncode, done.stdout, done.stderr


def test_standard_input_and_output(cloned, tmp_path: Path) -> None:
    lines = '{"id": "a", "title": "Registered Nurse"}\nnot json\n{"id": "b", "title": "Cook"}\n'
    code, out, err = _run_cli(["map", "--quiet", "--input", "-", "--output", "-", "--top-k", "2"], lines)
    assert code == 3  # mapped, with a bad line
    records = [json.loads(line) for line in out.splitlines()]  # only results go to standard output
    assert [(r["id"], r["suggestions"][0]["code"]) for r in records] == [("a", "31301"), ("b", "63200")]
    assert "nocfit map: standard input, line 2:" in err
    assert "mapped 2 line(s) into standard output; 1 bad line(s) skipped" in err

    # CSV on standard input is told by its first character; output formats are chosen apart.
    code, out, _ = _run_cli(["map", "--quiet", "--input", "-", "--output", "-"], "id;title\n7;Welder\n")
    assert code == 0 and json.loads(out)["suggestions"][0]["code"] == "72106"
    csv_out = ["map", "--quiet", "--input", "-", "--output", "-", "--output-format", "csv"]
    code, out, _ = _run_cli(csv_out, lines)
    assert code == 3 and out.splitlines()[1].startswith("a,1,31301,")
    target = tmp_path / "out.csv"  # a file named for the output: its extension tells the format
    code, _, _ = _run_cli(["map", "--quiet", "--input", "-", "--output", str(target)], lines)
    assert code == 3 and target.read_text().splitlines()[1].startswith("a,1,31301,")

    # Every line bad: nothing goes down the pipe, and each bad line is still named.
    code, out, err = _run_cli(["map", "--quiet", "--input", "-", "--output", "-"], "{broken\n[1]\n")
    assert (code, out) == (1, "")
    assert "standard input, line 1:" in err and "standard input, line 2:" in err
    assert "every line is bad: nothing mapped, nothing written to standard output" in err

    # A batch that cannot be read sends nothing down the pipe.
    code, out, err = _run_cli(
        ["map", "--input", "-", "--output", "-", "--format", "csv"], 'id,title\n1,"Cook\n'
    )
    assert code == 2 and out == "" and "standard input, line 2" in err and "never closed" in err
    code, out, err = _run_cli(["map", "--input", "-", "--output", "-"], '[{"id": "a", "title": "Cook"},\n')
    assert code == 2 and out == "" and "standard input: not a valid JSON array" in err


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGHUP"])  # Ctrl-C, `kill`, a closed terminal
def test_ctrl_c_during_a_parallel_batch_stops_promptly_and_leaves_nothing(
    cloned, tmp_path: Path, stop: str
) -> None:
    tmp_path = _fresh(tmp_path)  # the installation lives in tmp_path too
    import os
    import signal
    import subprocess
    import time

    from tests.conftest import cli_as_a_terminal_runs_it

    source = tmp_path / "in.jsonl"
    # Distinct titles (no cache helps), far more than a few seconds of work: a batch that ends
    # before the interrupt would prove nothing (20,000 identical titles once did).
    titles = ["cook", "welder", "registered nurse", "truck driver", "cashier"]
    source.write_text(
        "".join(json.dumps({"id": str(i), "title": f"{titles[i % 5]} {i}"}) + "\n" for i in range(200_000))
    )
    process = subprocess.Popen(
        [
            *cli_as_a_terminal_runs_it(),
            "map",
            "--quiet",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "out.jsonl"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
        env=os.environ.copy(),
    )
    try:
        partial = tmp_path / "out.jsonl.part"
        deadline = time.monotonic() + 60
        while not partial.exists() and time.monotonic() < deadline:  # loaded, checked, mapping
            time.sleep(0.1)
        time.sleep(1)
        assert process.poll() is None, "the batch ended before the interrupt"
        os.killpg(process.pid, getattr(signal, stop))
        _, err = process.communicate(timeout=30)  # used to wait forever for the dead workers
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130 and err.strip() == "nocfit: interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


class _FakeModel:
    """Maps a query to its own title, slowly for 'slow', and fails on 'boom'."""

    def map_batch(self, queries, *, top_k: int, evidence: bool):
        import time

        if any(title == "boom" for title, _ in queries):
            raise ValueError("boom")
        if any(title == "slow" for title, _ in queries):
            time.sleep(0.3)
        return [title for title, _ in queries]


def test_parallel_mapper_keeps_the_order_and_reports_a_failing_worker() -> None:
    from nocfit.map_command import ParallelMapper, WorkerError

    chunks = [[("slow", "")], [("a", ""), ("b", "")], [("c", "")], [("slow", ""), ("d", "")], [("e", "")]]
    with ParallelMapper(_FakeModel(), workers=2) as mapper:
        assert len(mapper.processes) == 2
        assert mapper.map_chunks(chunks, top_k=1, evidence=False) == [
            ["slow"],
            ["a", "b"],
            ["c"],
            ["slow", "d"],
            ["e"],
        ]
        processes = [process for process, _ in mapper.processes]
        processes[0].kill()  # dies idle, after its work was collected: the batch is still whole
        processes[0].join()
    assert all(not process.is_alive() for process in processes)  # stopped when done
    with (
        pytest.raises(WorkerError, match="ValueError: boom"),
        ParallelMapper(_FakeModel(), workers=2) as mapper,
    ):
        mapper.map_chunks([[("a", "")], [("boom", "")]], top_k=1, evidence=False)
    with (
        pytest.raises(WorkerError, match="a mapping worker stopped"),
        ParallelMapper(_FakeModel(), workers=2) as mapper,
    ):
        mapper.processes[0][0].kill()
        mapper.processes[0][0].join()
        mapper.map_chunks([[("a", "")]], top_k=1, evidence=False)
    with (
        pytest.raises(WorkerError, match=r"exit code -9\)"),
        ParallelMapper(_FakeModel(), workers=2) as mapper,
    ):
        mapper.map_chunks([[("slow", "")]], top_k=1, evidence=False)  # one chunk: the first worker
        mapper.processes[0][0].kill()  # not reaped yet: the message still has the exit code
        mapper.map_chunks([[("slow", "")]], top_k=1, evidence=False)
