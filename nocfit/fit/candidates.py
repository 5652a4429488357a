"""Read and validate candidates from JSON Lines (one candidate per line).

Each non-blank line is either loaded as a :class:`Candidate` or rejected as a :class:`Reject`
with its 1-based line number and one short, plain reason (the first problem found), e.g.
``line 7: work_experience[1]: end 2023-01-01 is before start 2024-02-01``. Indexes in square
brackets are 0-based positions in the JSON arrays. Blank lines are skipped. Unknown fields are
ignored. Validation never raises on arbitrary input: every failure path produces a reason.

Record format::

    {"candidate_id": "c-001",
     "as_of": "2026-06-01",                  # optional; default: the caller's run date
     "languages": [{"language": "fr", "test": "TEF Canada", "test_date": "2025-09-01",
                    "listening": 7, "reading": 7, "speaking": 7, "writing": 7}],
     "work_experience": [{"title": "Registered Nurse", "duties": "free text", "employer": "...",
                          "country": "CA", "start": "2024-01-01", "end": null,
                          "hours_per_week": 37.5, "noc_code": "31301"}]}

Rules applied (besides the obvious types):

* ``candidate_id``: a non-empty string of at most 200 characters, unique in the input (a later
  line repeating an id is rejected and the reason names the line that had it first, whether or
  not that first line loaded).
* Dates are ``YYYY-MM-DD`` between 1900-01-01 and 2100-12-31. A spell's ``end`` may be null
  (ongoing) but not before its ``start``; a start after ``as_of`` is allowed (it counts nothing).
* ``country``: an assigned ISO 3166-1 alpha-2 code; lower case is accepted and upper-cased.
* ``language``: ``fr`` (levels are NCLC) or ``en`` (levels are CLB), case-insensitive; the four
  levels are required whole numbers (JSON integers) from 0 to 12. ``test`` is an optional name.
* ``hours_per_week``: a number in (0, 168].
* ``noc_code`` (optional, the candidate's own claim): a string of five digits, and one of
  ``known_codes`` when that set is given.
* ``title``/``duties``/``employer`` are optional strings; a spell needs a non-empty title or
  duties. A claimed ``noc_code`` alone is not enough: claims are only checked against what the
  mapper reads, never counted, so such a spell could only ever count as nothing.
* ``languages``/``work_experience`` may be missing or null (= none).
* NaN/Infinity literals, invalid UTF-8 and JSON nested too deeply are rejected as invalid JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ABILITIES = ("listening", "reading", "speaking", "writing")
LANGUAGES = {"fr": "NCLC", "en": "CLB"}
MIN_LEVEL, MAX_LEVEL = 0, 12
MAX_HOURS_PER_WEEK = 168.0
MAX_ID_LENGTH = 200
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


def _words(text: str) -> list[str]:
    return text.split()


#: Every officially assigned ISO 3166-1 alpha-2 code (249; user-assigned codes such as XK are not).
ISO_COUNTRIES = frozenset(
    _words(
        """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
        """
    )
)

#: The one date form nocfit accepts, in candidate files and in command-line options.
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NOC_RE = re.compile(r"[0-9]{5}")


@dataclass(frozen=True)
class LanguageResult:
    """One language test result; levels are NCLC for French and CLB for English."""

    language: str  # "fr" | "en"
    test: str
    test_date: dt.date
    listening: int
    reading: int
    speaking: int
    writing: int

    @property
    def scale(self) -> str:
        return LANGUAGES[self.language]

    def level(self, ability: str) -> int:
        if ability not in ABILITIES:
            raise ValueError(f"unknown language ability {ability!r}")
        return getattr(self, ability)


@dataclass(frozen=True)
class WorkSpell:
    """One period of work. ``end=None`` means ongoing."""

    title: str
    duties: str
    employer: str
    country: str  # ISO 3166-1 alpha-2, upper case
    start: dt.date
    end: dt.date | None
    hours_per_week: float
    noc_code: str | None = None  # the candidate's claimed NOC 2021 code, if any


@dataclass(frozen=True)
class Candidate:
    candidate_id: str
    as_of: dt.date
    languages: tuple[LanguageResult, ...] = ()
    work_experience: tuple[WorkSpell, ...] = ()
    line: int | None = None  # 1-based input line, when read from JSON Lines


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str
    candidate_id: str | None = None

    @property
    def message(self) -> str:
        return f"line {self.line}: {self.reason}"

    def __str__(self) -> str:
        return self.message


class _Invalid(Exception):
    """A validation failure; the message is the reject reason."""


def read_candidates(
    lines: Iterable[str],
    *,
    default_as_of: dt.date,
    known_codes: set[str] | frozenset[str] | None = None,
) -> tuple[list[Candidate], list[Reject]]:
    """Validate JSON Lines; return (loaded candidates, rejects), both in input order."""
    candidates: list[Candidate] = []
    rejects: list[Reject] = []
    first_seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        candidate_id: str | None = None
        try:
            text = _text(raw)
            if not text.strip():
                continue
            record = _parse(text)
            candidate_id = _candidate_id(record)
            if candidate_id in first_seen:
                raise _Invalid(
                    f"duplicate candidate_id {_show(candidate_id)} (first seen on line {first_seen[candidate_id]})"
                )
            first_seen[candidate_id] = number
            candidates.append(_candidate(record, candidate_id, number, default_as_of, known_codes))
        except _Invalid as problem:
            rejects.append(Reject(line=number, reason=str(problem), candidate_id=candidate_id))
    return candidates, rejects


def read_candidates_file(
    path: str | Path,
    *,
    default_as_of: dt.date,
    known_codes: set[str] | frozenset[str] | None = None,
) -> tuple[list[Candidate], list[Reject]]:
    """:func:`read_candidates` on a UTF-8 file (invalid UTF-8 lines are rejected, not fatal)."""
    with open(path, "rb") as handle:
        return read_candidates(handle, default_as_of=default_as_of, known_codes=known_codes)  # type: ignore[arg-type]


# -- parsing -----------------------------------------------------------------------------------


def _text(raw: object) -> str:
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise _Invalid("invalid JSON: the line is not valid UTF-8") from None
    if not isinstance(raw, str):
        raise _Invalid(f"expected a line of text, got {type(raw).__name__}")
    # Without its line ending, so that a JSON error's column is on this line.
    return raw.lstrip("\ufeff").rstrip("\r\n")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _parse(text: str) -> dict[str, Any]:
    try:
        record = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise _Invalid("invalid JSON: nested too deeply") from None
    except ValueError as error:  # includes JSONDecodeError and over-long integer literals
        message = getattr(error, "msg", None) or str(error)
        position = getattr(error, "colno", None)
        where = f" at column {position}" if position is not None else ""
        raise _Invalid(f"invalid JSON: {_clip(message, 80)}{where}") from None
    if not isinstance(record, dict):
        raise _Invalid(f"top level must be a JSON object, got {_kind(record)}")
    return record


def _candidate_id(record: dict[str, Any]) -> str:
    if "candidate_id" not in record or record["candidate_id"] is None:
        raise _Invalid("candidate_id is missing")
    value = record["candidate_id"]
    if not isinstance(value, str):
        raise _Invalid(f"candidate_id must be a string, got {_show(value)}")
    if not value.strip():
        raise _Invalid("candidate_id is empty")
    if len(value) > MAX_ID_LENGTH:
        raise _Invalid(f"candidate_id is longer than {MAX_ID_LENGTH} characters")
    return value


def _candidate(
    record: dict[str, Any],
    candidate_id: str,
    line: int,
    default_as_of: dt.date,
    known_codes: set[str] | frozenset[str] | None,
) -> Candidate:
    as_of = default_as_of if record.get("as_of") is None else _date(record["as_of"], "as_of")
    languages = tuple(
        _language(item, f"languages[{i}]") for i, item in enumerate(_array(record, "languages"))
    )
    spells = tuple(
        _spell(item, f"work_experience[{i}]", known_codes)
        for i, item in enumerate(_array(record, "work_experience"))
    )
    return Candidate(
        candidate_id=candidate_id, as_of=as_of, languages=languages, work_experience=spells, line=line
    )


def _array(record: dict[str, Any], key: str) -> list[Any]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(f"{key} must be an array, got {_kind(value)}")
    return value


def _language(item: Any, path: str) -> LanguageResult:
    if not isinstance(item, dict):
        raise _Invalid(f"{path} must be an object, got {_kind(item)}")
    language = item.get("language")
    if not isinstance(language, str) or language.strip().lower() not in LANGUAGES:
        raise _Invalid(f"{path}.language must be 'fr' or 'en', got {_show(language)}")
    levels = {ability: _level(item, ability, path) for ability in ABILITIES}
    return LanguageResult(
        language=language.strip().lower(),
        test=_string(item, "test", path),
        test_date=_date(_required(item, "test_date", path), f"{path}.test_date"),
        **levels,
    )


def _level(item: dict[str, Any], ability: str, path: str) -> int:
    value = _required(item, ability, path)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid(
            f"{path}.{ability} must be a whole number from {MIN_LEVEL} to {MAX_LEVEL}, got {_show(value)}"
        )
    if not MIN_LEVEL <= value <= MAX_LEVEL:
        raise _Invalid(f"{path}.{ability} must be from {MIN_LEVEL} to {MAX_LEVEL}, got {_show(value)}")
    return value


def _spell(item: Any, path: str, known_codes: set[str] | frozenset[str] | None) -> WorkSpell:
    if not isinstance(item, dict):
        raise _Invalid(f"{path} must be an object, got {_kind(item)}")
    title = _string(item, "title", path)
    duties = _string(item, "duties", path)
    employer = _string(item, "employer", path)
    country = _country(_required(item, "country", path), f"{path}.country")
    start = _date(_required(item, "start", path), f"{path}.start")
    end = None if item.get("end") is None else _date(item["end"], f"{path}.end")
    if end is not None and end < start:
        raise _Invalid(f"{path}: end {end.isoformat()} is before start {start.isoformat()}")
    hours = _hours(_required(item, "hours_per_week", path), f"{path}.hours_per_week")
    noc_code = _noc_code(item.get("noc_code"), f"{path}.noc_code", known_codes)
    if not title.strip() and not duties.strip():
        claim = ": a claimed noc_code alone cannot be checked" if noc_code else ""
        raise _Invalid(f"{path} needs a non-empty title or duties{claim}")
    return WorkSpell(
        title=title,
        duties=duties,
        employer=employer,
        country=country,
        start=start,
        end=end,
        hours_per_week=hours,
        noc_code=noc_code,
    )


# -- field validators ---------------------------------------------------------------------------


def _required(item: dict[str, Any], key: str, path: str) -> Any:
    if key not in item or item[key] is None:
        raise _Invalid(f"{path}.{key} is missing")
    return item[key]


def _string(item: dict[str, Any], key: str, path: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Invalid(f"{path}.{key} must be a string, got {_show(value)}")
    return value


def _date(value: Any, path: str) -> dt.date:
    if not isinstance(value, str):
        raise _Invalid(f"{path} must be a date string YYYY-MM-DD, got {_show(value)}")
    if not DATE_PATTERN.fullmatch(value):
        raise _Invalid(f"{path}: invalid date {_show(value)} (expected YYYY-MM-DD)")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise _Invalid(f"{path}: invalid date {_show(value)} (no such day)") from None
    if not MIN_DATE <= day <= MAX_DATE:
        raise _Invalid(f"{path}: date {value} is outside {MIN_DATE.isoformat()}..{MAX_DATE.isoformat()}")
    return day


def _country(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{path} must be an ISO 3166-1 alpha-2 code such as 'CA', got {_show(value)}")
    code = value.strip().upper()
    if code not in ISO_COUNTRIES:
        raise _Invalid(f"{path}: {_show(value)} is not an ISO 3166-1 alpha-2 country code (e.g. 'CA')")
    return code


def _hours(value: Any, path: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _Invalid(f"{path} must be a number of hours, got {_show(value)}")
    # Compare before converting: a huge JSON integer would overflow float().
    if not (value > 0 and value <= MAX_HOURS_PER_WEEK) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise _Invalid(f"{path} must be more than 0 and at most {MAX_HOURS_PER_WEEK:g}, got {_show(value)}")
    return float(value)


def _noc_code(value: Any, path: str, known_codes: set[str] | frozenset[str] | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _NOC_RE.fullmatch(value):
        hint = (
            " (four digits: a NOC 2016 code?)"
            if isinstance(value, str) and re.fullmatch("[0-9]{4}", value)
            else ""
        )
        raise _Invalid(f"{path} must be a NOC 2021 code of five digits (a string), got {_show(value)}{hint}")
    if known_codes is not None and value not in known_codes:
        raise _Invalid(f"{path}: {value} is not a known NOC 2021 unit group code")
    return value


# -- display helpers ----------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _show(value: Any) -> str:
    """A short rendering of a JSON value for a reason (never the whole of a huge value)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(_clip(value), ensure_ascii=False)
    if isinstance(value, int):
        return str(value) if value.bit_length() < 120 else "a very large number"
    if isinstance(value, float):
        return _clip(repr(value))
    return _kind(value)
