"""Candidate JSON Lines reader: every line loads or is rejected with a plain reason, never a crash."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nocfit.fit.candidates import (
    ISO_COUNTRIES,
    Candidate,
    LanguageResult,
    Reject,
    WorkSpell,
    read_candidates,
    read_candidates_file,
)

RUN_DATE = dt.date(2026, 6, 1)
EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples" / "candidates.jsonl"


def record(**overrides) -> dict:
    base = {
        "candidate_id": "c-001",
        "as_of": "2026-06-01",
        "languages": [
            {
                "language": "fr",
                "test": "TEF Canada",
                "test_date": "2025-09-01",
                "listening": 7,
                "reading": 8,
                "speaking": 7,
                "writing": 9,
            }
        ],
        "work_experience": [
            {
                "title": "Registered Nurse",
                "duties": "Patient care on a surgical unit.",
                "employer": "City Hospital",
                "country": "CA",
                "start": "2024-01-01",
                "end": None,
                "hours_per_week": 37.5,
                "noc_code": "31301",
            }
        ],
    }
    base.update(overrides)
    return base


def _changed(item: dict, changes: dict) -> dict:
    """``item`` with ``changes`` applied; the value ``DROP`` removes the key."""
    merged = {**item, **changes}
    return {k: v for k, v in merged.items() if v is not DROP}


DROP = object()


def with_spell(**changes) -> dict:
    data = record()
    data["work_experience"] = [_changed(data["work_experience"][0], changes)]
    return data


def with_language(**changes) -> dict:
    data = record()
    data["languages"] = [_changed(data["languages"][0], changes)]
    return data


def read(*lines: str, known_codes=None):
    return read_candidates(list(lines), default_as_of=RUN_DATE, known_codes=known_codes)


def one_reject(line: str, known_codes=None) -> Reject:
    candidates, rejects = read(line, known_codes=known_codes)
    assert candidates == [] and len(rejects) == 1, (candidates, rejects)
    return rejects[0]


# -- valid records ---------------------------------------------------------------------------------------


def test_valid_record_loads_with_typed_fields():
    (candidate,), rejects = read(json.dumps(record()))
    assert rejects == []
    assert candidate == Candidate(
        candidate_id="c-001",
        as_of=dt.date(2026, 6, 1),
        languages=(LanguageResult("fr", "TEF Canada", dt.date(2025, 9, 1), 7, 8, 7, 9),),
        work_experience=(
            WorkSpell(
                "Registered Nurse",
                "Patient care on a surgical unit.",
                "City Hospital",
                "CA",
                dt.date(2024, 1, 1),
                None,
                37.5,
                "31301",
            ),
        ),
        line=1,
    )
    assert candidate.languages[0].level("writing") == 9 and candidate.languages[0].scale == "NCLC"


def test_defaults_and_normalisation():
    data = record(as_of=None, extra_field={"anything": [1, 2, 3]})
    data["languages"] = [_changed(data["languages"][0], {"language": "FR", "test": DROP})]
    data["work_experience"] = [
        _changed(
            data["work_experience"][0],
            {"country": "fr", "noc_code": None, "employer": None, "hours_per_week": 20, "duties": DROP},
        )
    ]
    (candidate,), rejects = read(json.dumps(data))
    assert rejects == []
    assert candidate.as_of == RUN_DATE
    assert candidate.languages[0].language == "fr" and candidate.languages[0].test == ""
    spell = candidate.work_experience[0]
    assert (spell.country, spell.noc_code, spell.employer, spell.duties, spell.hours_per_week) == (
        "FR",
        None,
        "",
        "",
        20.0,
    )


def test_missing_or_null_lists_mean_none():
    (a, b), rejects = read(
        json.dumps({"candidate_id": "a"}),
        json.dumps({"candidate_id": "b", "languages": None, "work_experience": None}),
    )
    assert rejects == [] and a.languages == () and b.work_experience == ()


@pytest.mark.parametrize(
    "spell_changes",
    [
        {"title": "", "duties": "Drove trucks."},
        {"title": "Driver", "duties": ""},
        {"end": "2024-01-01"},  # one-day spell: end == start
        {"start": "2027-01-01", "end": None},  # starts after as_of: allowed, counts nothing
        {"hours_per_week": 168},
        {"hours_per_week": 0.5},
        {"country": "ax"},
    ],
)
def test_valid_edge_cases_load(spell_changes):
    candidates, rejects = read(json.dumps(with_spell(**spell_changes)))
    assert rejects == [] and len(candidates) == 1


@pytest.mark.parametrize("level", [0, 12])
def test_level_bounds_are_inclusive(level):
    candidates, rejects = read(json.dumps(with_language(listening=level)))
    assert rejects == [] and candidates[0].languages[0].listening == level


def test_all_example_candidates_load():
    candidates, rejects = read_candidates(
        EXAMPLES.read_text(encoding="utf-8").splitlines(), default_as_of=RUN_DATE
    )
    assert rejects == []
    assert [c.candidate_id for c in candidates] == [f"ex-{i:03d}" for i in range(1, 26)]
    assert all(c.work_experience for c in candidates)


# -- rejects: one per rule -----------------------------------------------------------------------------------

REJECTS = [
    ("not json", "invalid JSON: Expecting value at column 1"),
    ('{"candidate_id": "x",}', "invalid JSON"),
    ("[1, 2]", "top level must be a JSON object, got an array"),
    ('"c-001"', "top level must be a JSON object, got a string"),
    ("null", "top level must be a JSON object, got null"),
    ('{"candidate_id": NaN}', "invalid JSON: NaN is not allowed"),
    (
        '{"candidate_id": "x", "work_experience": [{"hours_per_week": Infinity}]}',
        "invalid JSON: Infinity is not allowed",
    ),
    (json.dumps(record(candidate_id=None)), "candidate_id is missing"),
    (json.dumps({k: v for k, v in record().items() if k != "candidate_id"}), "candidate_id is missing"),
    (json.dumps(record(candidate_id="")), "candidate_id is empty"),
    (json.dumps(record(candidate_id="   ")), "candidate_id is empty"),
    (json.dumps(record(candidate_id=17)), "candidate_id must be a string, got 17"),
    (json.dumps(record(candidate_id=["a"])), "candidate_id must be a string, got an array"),
    (json.dumps(record(candidate_id="x" * 201)), "candidate_id is longer than 200 characters"),
    (json.dumps(record(as_of="2026-13-01")), 'as_of: invalid date "2026-13-01" (no such day)'),
    (json.dumps(record(as_of="2026-02-30")), 'as_of: invalid date "2026-02-30" (no such day)'),
    (json.dumps(record(as_of="01/06/2026")), 'as_of: invalid date "01/06/2026" (expected YYYY-MM-DD)'),
    (json.dumps(record(as_of="20260601")), 'as_of: invalid date "20260601" (expected YYYY-MM-DD)'),
    (json.dumps(record(as_of=20260601)), "as_of must be a date string YYYY-MM-DD, got 20260601"),
    (json.dumps(record(as_of="0001-01-01")), "as_of: date 0001-01-01 is outside 1900-01-01..2100-12-31"),
    (json.dumps(record(languages={"fr": 7})), "languages must be an array, got an object"),
    (json.dumps(record(languages=["fr"])), "languages[0] must be an object, got a string"),
    (json.dumps(with_language(language="de")), "languages[0].language must be 'fr' or 'en', got \"de\""),
    (json.dumps(with_language(language=None)), "languages[0].language must be 'fr' or 'en', got null"),
    (json.dumps(with_language(reading=DROP)), "languages[0].reading is missing"),
    (
        json.dumps(with_language(reading=7.5)),
        "languages[0].reading must be a whole number from 0 to 12, got 7.5",
    ),
    (
        json.dumps(with_language(reading=7.0)),
        "languages[0].reading must be a whole number from 0 to 12, got 7.0",
    ),
    (
        json.dumps(with_language(reading="7")),
        'languages[0].reading must be a whole number from 0 to 12, got "7"',
    ),
    (
        json.dumps(with_language(reading=True)),
        "languages[0].reading must be a whole number from 0 to 12, got true",
    ),
    (json.dumps(with_language(speaking=13)), "languages[0].speaking must be from 0 to 12, got 13"),
    (json.dumps(with_language(writing=-1)), "languages[0].writing must be from 0 to 12, got -1"),
    (json.dumps(with_language(test_date=DROP)), "languages[0].test_date is missing"),
    (json.dumps(with_language(test_date="2025-9-1")), 'languages[0].test_date: invalid date "2025-9-1"'),
    (json.dumps(with_language(test=5)), "languages[0].test must be a string, got 5"),
    (json.dumps(record(work_experience="nurse")), "work_experience must be an array, got a string"),
    (json.dumps(record(work_experience=[None])), "work_experience[0] must be an object, got null"),
    (
        json.dumps(with_spell(start="2024-02-01", end="2023-01-01")),
        "work_experience[0]: end 2023-01-01 is before start 2024-02-01",
    ),
    (json.dumps(with_spell(start=DROP)), "work_experience[0].start is missing"),
    (
        json.dumps(with_spell(start="2024-02-31")),
        'work_experience[0].start: invalid date "2024-02-31" (no such day)',
    ),
    (
        json.dumps(with_spell(end="yesterday")),
        'work_experience[0].end: invalid date "yesterday" (expected YYYY-MM-DD)',
    ),
    (
        json.dumps(with_spell(country="Canada")),
        'work_experience[0].country: "Canada" is not an ISO 3166-1 alpha-2',
    ),
    (json.dumps(with_spell(country="XK")), 'work_experience[0].country: "XK" is not an ISO 3166-1 alpha-2'),
    (json.dumps(with_spell(country="CAN")), 'work_experience[0].country: "CAN" is not an ISO 3166-1 alpha-2'),
    (json.dumps(with_spell(country=DROP)), "work_experience[0].country is missing"),
    (json.dumps(with_spell(country=124)), "work_experience[0].country must be an ISO 3166-1 alpha-2 code"),
    (
        json.dumps(with_spell(hours_per_week=0)),
        "work_experience[0].hours_per_week must be more than 0 and at most 168, got 0",
    ),
    (
        json.dumps(with_spell(hours_per_week=-5)),
        "work_experience[0].hours_per_week must be more than 0 and at most 168",
    ),
    (
        json.dumps(with_spell(hours_per_week=168.5)),
        "work_experience[0].hours_per_week must be more than 0 and at most 168",
    ),
    (
        json.dumps(with_spell(hours_per_week="40")),
        'work_experience[0].hours_per_week must be a number of hours, got "40"',
    ),
    (
        json.dumps(with_spell(hours_per_week=False)),
        "work_experience[0].hours_per_week must be a number of hours, got false",
    ),
    (
        '{"candidate_id": "x", "work_experience": [{"title": "t", "country": "CA", "start": "2024-01-01", '
        '"hours_per_week": 1e400}]}',
        "work_experience[0].hours_per_week must be more than 0 and at most 168, got inf",
    ),
    (json.dumps(with_spell(hours_per_week=DROP)), "work_experience[0].hours_per_week is missing"),
    (
        json.dumps(with_spell(noc_code="3130")),
        "work_experience[0].noc_code must be a NOC 2021 code of five digits",
    ),
    (
        json.dumps(with_spell(noc_code="3012")),
        'noc_code must be a NOC 2021 code of five digits (a string), got "3012" (four digits: a NOC 2016 code?)',
    ),
    (
        json.dumps(with_spell(noc_code="313011")),
        "work_experience[0].noc_code must be a NOC 2021 code of five digits",
    ),
    (
        json.dumps(with_spell(noc_code=31301)),
        "work_experience[0].noc_code must be a NOC 2021 code of five digits (a string), got 31301",
    ),
    (
        json.dumps(with_spell(noc_code="3130١")),
        "work_experience[0].noc_code must be a NOC 2021 code of five digits",
    ),
    (
        json.dumps(with_spell(title="", duties="  ", noc_code=None)),
        "work_experience[0] needs a non-empty title or duties",
    ),
    (
        json.dumps(with_spell(title="", duties="", noc_code="73300")),
        "work_experience[0] needs a non-empty title or duties: a claimed noc_code alone cannot be checked",
    ),
    (json.dumps(with_spell(title=["Nurse"])), "work_experience[0].title must be a string, got an array"),
    (json.dumps(with_spell(duties={"x": 1})), "work_experience[0].duties must be a string, got an object"),
]


@pytest.mark.parametrize(("line", "reason"), REJECTS, ids=[f"reject-{i}" for i in range(len(REJECTS))])
def test_each_rule_rejects_with_a_plain_reason(line, reason):
    reject = one_reject(line)
    assert reject.line == 1
    assert reason in reject.reason, reject.reason
    assert str(reject) == f"line 1: {reject.reason}"


def test_json_error_column_is_on_the_line_as_read_from_a_file(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"candidate_id": "t", "as_of": "2026-06-01"\r\n')  # truncated: no closing brace
    _, rejects = read_candidates_file(path, default_as_of=RUN_DATE)
    assert [r.reason for r in rejects] == ["invalid JSON: Expecting ',' delimiter at column 44"]


def test_unknown_noc_code_is_rejected_only_when_codes_are_known():
    line = json.dumps(with_spell(noc_code="99999"))
    reject = one_reject(line, known_codes={"31301"})
    assert reject.reason == "work_experience[0].noc_code: 99999 is not a known NOC 2021 unit group code"
    candidates, rejects = read(line)
    assert rejects == [] and candidates[0].work_experience[0].noc_code == "99999"


def test_reject_keeps_the_candidate_id_when_known():
    assert one_reject(json.dumps(with_spell(country="ZZ"))).candidate_id == "c-001"
    assert one_reject("[]").candidate_id is None


def test_duplicate_candidate_id_rejects_the_later_line_naming_the_first():
    lines = [
        json.dumps(record()),
        "",
        json.dumps(record(candidate_id="c-002")),
        json.dumps(record()),
    ]
    candidates, rejects = read(*lines)
    assert [c.candidate_id for c in candidates] == ["c-001", "c-002"]
    assert [str(r) for r in rejects] == ['line 4: duplicate candidate_id "c-001" (first seen on line 1)']


def test_duplicate_of_a_rejected_line_is_still_a_duplicate():
    lines = [json.dumps(with_spell(country="ZZ")), json.dumps(record())]
    candidates, rejects = read(*lines)
    assert candidates == []
    assert [r.line for r in rejects] == [1, 2]
    assert "first seen on line 1" in rejects[1].reason


def test_blank_lines_are_skipped_and_line_numbers_kept():
    lines = [
        "",
        "   ",
        "\n",
        json.dumps(record()),
        "\t\n",
        "oops",
        "\ufeff" + json.dumps(record(candidate_id="c-2")),
    ]
    candidates, rejects = read(*lines)
    assert [(c.candidate_id, c.line) for c in candidates] == [("c-001", 4), ("c-2", 7)]
    assert [(r.line, r.reason.split(":")[0]) for r in rejects] == [(6, "invalid JSON")]


def test_first_problem_of_a_line_is_reported():
    data = with_spell(country="ZZ", hours_per_week=0)
    assert "country" in one_reject(json.dumps(data)).reason


def test_file_reader_rejects_invalid_utf8_lines(tmp_path):
    path = tmp_path / "batch.jsonl"
    path.write_bytes(
        json.dumps(record()).encode()
        + b"\n\xff\xfe not utf-8\n\n"
        + json.dumps(record(candidate_id="b")).encode()
    )
    candidates, rejects = read_candidates_file(path, default_as_of=RUN_DATE)
    assert [c.candidate_id for c in candidates] == ["c-001", "b"]
    assert [str(r) for r in rejects] == ["line 2: invalid JSON: the line is not valid UTF-8"]


def test_iso_country_list_is_the_assigned_set():
    assert len(ISO_COUNTRIES) == 249
    assert {"CA", "US", "GB", "IN", "PH", "NG", "FR", "AX", "SS", "BQ"} <= ISO_COUNTRIES
    assert not {"XK", "UK", "EU", "AN", "YU"} & ISO_COUNTRIES


# -- arbitrary input never crashes ------------------------------------------------------------------------

HUGE_LEVEL = (
    '{"candidate_id": "a", "languages": [{"language": "en", "test_date": "2025-01-01", '
    '"listening": 99999999999999999999999999999999999999999, "reading": 1, "speaking": 1, "writing": 1}]}'
)
WIDE_DIGITS = '{"candidate_id": "a", "as_of": "２０２６-０１-０１"}'
ARBITRARY = [
    "{}",
    "[]",
    "0",
    "-1e999",
    "true",
    '""',
    '"\\ud800"',
    "{" * 5,
    "[" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    "9" * 5000,
    '{"candidate_id": "' + "x" * 1_000_000 + '"}',
    '{"candidate_id": "big", "work_experience": [{"title": "' + "t" * 1_000_000 + '"}]}',
    '{"candidate_id": {"nested": {"deeper": [[[[]]]]}}}',
    '{"candidate_id": "a", "languages": [[[[[[]]]]]]}',
    '{"candidate_id": "a", "languages": [{"language": "fr", "listening": {"$gt": 0}}]}',
    HUGE_LEVEL,
    '{"candidate_id": "a", "work_experience": [{"hours_per_week": 1' + "0" * 400 + "}]}",
    '{"candidate_id": "a", "work_experience": [{"title": "t", "country": "CA", "start": "2024-01-01", "hours_per_week": 99999999999999999999999999999999999999999999999999}]}',
    '{"candidate_id": "a", "work_experience": {"0": {}}}',
    '{"candidate_id": "a", "work_experience": [1, "two", null, []]}',
    '{"candidate_id": "a", "as_of": ["2026-01-01"]}',
    '{"candidate_id": "a", "as_of": -Infinity}',
    WIDE_DIGITS,
    '{"candidate_id": "a", "work_experience": [{"title": "t", "country": "ＣＡ", "start": "2024-01-01", "hours_per_week": 5}]}',
    '{"candidate_id": "a"} trailing',
    '{"candidate_id": "a", "candidate_id": 5}',
    "\x00\x01\x02",
]


@pytest.mark.parametrize("line", ARBITRARY, ids=[f"arbitrary-{i}" for i in range(len(ARBITRARY))])
def test_arbitrary_json_gets_a_short_reason_or_loads(line):
    candidates, rejects = read(line)
    assert len(candidates) + len(rejects) == 1
    for reject in rejects:
        assert reject.line == 1
        assert 0 < len(reject.reason) <= 300, reject.reason


def test_some_arbitrary_lines_are_rejected_for_the_right_reason():
    assert one_reject("[" * 100_000).reason == "invalid JSON: nested too deeply"
    assert one_reject("9" * 5000).reason.startswith("invalid JSON: Exceeds the limit")
    assert "a very large number" in one_reject(HUGE_LEVEL).reason
    assert one_reject(WIDE_DIGITS).reason.startswith('as_of: invalid date "２０２６-０１-０１"')
    assert (
        one_reject('{"candidate_id": "a", "candidate_id": 5}').reason
        == "candidate_id must be a string, got 5"
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_is_loaded_or_rejected(value):
    candidates, rejects = read(json.dumps(value))
    assert len(candidates) + len(rejects) == 1
    assert all(0 < len(r.reason) <= 300 for r in rejects)


_FIELDS = [
    ("candidate_id",),
    ("as_of",),
    ("languages",),
    ("languages", 0),
    ("languages", 0, "language"),
    ("languages", 0, "test_date"),
    ("languages", 0, "listening"),
    ("languages", 0, "test"),
    ("work_experience",),
    ("work_experience", 0),
    ("work_experience", 0, "title"),
    ("work_experience", 0, "duties"),
    ("work_experience", 0, "country"),
    ("work_experience", 0, "start"),
    ("work_experience", 0, "end"),
    ("work_experience", 0, "hours_per_week"),
    ("work_experience", 0, "noc_code"),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_FIELDS), json_values)
def test_any_field_replaced_by_any_json_is_loaded_or_rejected(path, value):
    data = copy.deepcopy(record())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    candidates, rejects = read(json.dumps(data))
    assert len(candidates) + len(rejects) == 1
    for reject in rejects:
        assert 0 < len(reject.reason) <= 300
        assert str(path[0]) in reject.reason or "candidate_id" in reject.reason
