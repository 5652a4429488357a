"""Parse the official NOC 2021 (StatCan) and OaSIS 2023 (ESDC) files into table rows.

Each parser validates as it goes and raises :class:`SourceFormatError` naming the file, line
and problem; nothing is written unless a whole file parses. Codes stay text with leading
zeros; titles and texts are kept as published, trimmed of surrounding whitespace.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from nocfit.ingest.csvfile import Record, SourceFormatError, read_records
from nocfit.sources.catalog import spec

LABELS_FILE = spec("oasis_labels").name

LEVEL_NAMES = {
    1: "Broad Category",
    2: "Major Group",
    3: "Sub-major Group",
    4: "Minor Group",
    5: "Unit Group",
}
STRUCTURE_COLUMNS = (
    "Level",
    "Hierarchical structure",
    "Code - NOC 2021 V1.0",
    "Class title",
    "Class definition",
)
# OaSIS profile codes are "21231.00". The main-duties file writes some as numbers, dropping
# trailing zeros ("10010" for 10010.00, "31100.1" for 31100.10); those are restored here.
PROFILE = re.compile(r"^(\d{5})(?:\.(\d{1,2}))?$")


def _profile_code(
    record: Record,
    column: str,
    file: str,
    unit_groups: set[str],
    profiles: set[str] | None = None,
    *,
    unit_group_allowed: bool = False,
) -> tuple[str | None, str]:
    """(profile code, unit group code) of a cell, checked against the known codes.

    ``unit_group_allowed``: a bare five-digit code names the whole unit group (exclusions do
    this) and yields no profile code.
    """
    raw = record[column].strip()
    match = PROFILE.match(raw)
    if not match:
        raise SourceFormatError(
            file, f"{column} {raw!r} is not an OaSIS profile code like 21231.00", line=record.line
        )
    code, suffix = match.group(1), match.group(2)
    if code not in unit_groups:
        raise SourceFormatError(
            file, f"unknown NOC code {code} ({column} {raw}): not a NOC 2021 unit group", line=record.line
        )
    if suffix is None and unit_group_allowed:
        return None, code
    profile = f"{code}.{(suffix or '00').ljust(2, '0')}"
    if profiles is not None and profile not in profiles:
        raise SourceFormatError(
            file,
            f"unknown OaSIS profile {profile} ({column} {raw}): not in the OaSIS labels file "
            f"({LABELS_FILE}, {len(profiles)} profiles loaded); if that file was cut short, it is "
            "the one to fix",
            line=record.line,
        )
    return profile, code


TITLE_TYPES = {"Index": "index", "Example": "example", "Inclusion": "inclusion"}

Row = dict[str, object]


def _text(record: Record, column: str, file: str, *, allow_empty: bool = False) -> str | None:
    value = record[column].strip()
    if not value:
        if allow_empty:
            return None
        raise SourceFormatError(file, f"empty {column!r}", line=record.line)
    return value


def parse_structure(path: Path) -> list[Row]:
    """The five-level classification: level, hierarchy name, code, title, definition."""
    file = path.name
    rows: list[Row] = []
    seen: dict[str, int] = {}
    records = read_records(path, STRUCTURE_COLUMNS)
    for record in records:
        raw_level = record["Level"].strip()
        if raw_level not in {"1", "2", "3", "4", "5"}:
            raise SourceFormatError(file, f"unknown level {raw_level!r}", line=record.line)
        level = int(raw_level)
        code = record["Code - NOC 2021 V1.0"].strip()
        if not code.isdigit() or len(code) != level:
            raise SourceFormatError(
                file, f"code {code!r} is not a {level}-digit code for level {level}", line=record.line
            )
        hierarchy = record["Hierarchical structure"].strip()
        if hierarchy != LEVEL_NAMES[level]:
            raise SourceFormatError(
                file, f"level {level} should be {LEVEL_NAMES[level]!r}, found {hierarchy!r}", line=record.line
            )
        if code in seen:
            raise SourceFormatError(file, f"code {code} repeats line {seen[code]}", line=record.line)
        if level > 1 and code[:-1] not in seen:
            raise SourceFormatError(
                file, f"code {code} comes before (or without) its parent {code[:-1]}", line=record.line
            )
        seen[code] = record.line
        rows.append(
            {
                "level": level,
                "hierarchy": hierarchy,
                "code": code,
                "title": _text(record, "Class title", file),
                "definition": _text(record, "Class definition", file),
            }
        )
    if not any(r["level"] == 5 for r in rows):
        raise SourceFormatError(
            file,
            "no unit groups (level 5) found: the file ends before its first unit group (truncated?)",
            line=records[-1].line if records else 1,
        )
    return rows


def parse_profiles(path: Path, unit_groups: set[str]) -> list[Row]:
    """OaSIS profiles (unit group + 2-digit suffix) and their labels."""
    file = path.name
    rows = []
    for record in read_records(path, ("OaSIS profile code", "Label")):
        profile, code = _profile_code(record, "OaSIS profile code", file, unit_groups)
        rows.append({"profile_code": profile, "code": code, "label": _text(record, "Label", file)})
    return rows


def parse_titles(path: Path, unit_groups: set[str], profiles: set[str] | None = None) -> list[Row]:
    """OaSIS index, example and inclusion titles."""
    file = path.name
    columns = ("OaSIS profile code", "Concordance number", "Job title type", "Job title text")
    rows = []
    for record in read_records(path, columns):
        profile, code = _profile_code(record, "OaSIS profile code", file, unit_groups, profiles)
        kind = record["Job title type"].strip()
        if kind not in TITLE_TYPES:
            raise SourceFormatError(
                file, f"unknown job title type {kind!r} (expected {sorted(TITLE_TYPES)})", line=record.line
            )
        number = record["Concordance number"].strip()
        rows.append(
            {
                "code": code,
                "profile_code": profile,
                "title": _text(record, "Job title text", file),
                "title_type": TITLE_TYPES[kind],
                "concordance_number": int(number) if number.isdigit() else None,
            }
        )
    return rows


def parse_profile_texts(
    path: Path, column: str, unit_groups: set[str], profiles: set[str] | None = None
) -> list[Row]:
    """Per-profile statements (main duties, lead statements, requirements, ...) in file order."""
    file = path.name
    rows = []
    seq: Counter[str] = Counter()
    for record in read_records(path, ("OaSIS profile code", column)):
        profile, code = _profile_code(record, "OaSIS profile code", file, unit_groups, profiles)
        seq[profile] += 1
        rows.append(
            {"code": code, "profile_code": profile, "seq": seq[profile], "text": _text(record, column, file)}
        )
    return rows


def parse_workplaces(path: Path, unit_groups: set[str], profiles: set[str] | None = None) -> list[Row]:
    file = path.name
    rows = []
    for record in read_records(path, ("OaSIS profile code", "Workplace/employer name")):
        profile, code = _profile_code(record, "OaSIS profile code", file, unit_groups, profiles)
        rows.append(
            {
                "code": code,
                "profile_code": profile,
                "workplace": _text(record, "Workplace/employer name", file),
            }
        )
    return rows


def parse_exclusions(path: Path, unit_groups: set[str], profiles: set[str] | None = None) -> list[Row]:
    """Exclusions: a title that does *not* belong here, and the profile it belongs to."""
    file = path.name
    rows = []
    for record in read_records(path, ("OaSIS profile code", "Excluded code", "Job title")):
        profile, code = _profile_code(record, "OaSIS profile code", file, unit_groups, profiles)
        excluded_profile, excluded_code = _profile_code(
            record, "Excluded code", file, unit_groups, profiles, unit_group_allowed=True
        )
        rows.append(
            {
                "code": code,
                "profile_code": profile,
                "excluded_profile_code": excluded_profile,
                "excluded_code": excluded_code,
                "title": _text(record, "Job title", file, allow_empty=True),
            }
        )
    return rows


CHANGE_NAMES = {
    "RC3.1": "Merger",
    "RC3.2": "Take-over",
    "RC4.1": "Breakdown",
    "RC4.2": "Split off",
    "RC5": "Transfer",
    "VC1": "Code Change",
    "VC2": "Name Change",
}
_CHANGE_CODE = re.compile(r"\b(RC\d(?:\.\d)?|VC\d)\b")


def change_codes(raw: str) -> list[str]:
    """Normalise a GSIM type-of-change cell to sorted codes, tolerating the irregular spellings."""
    codes = set(_CHANGE_CODE.findall(raw))
    for code, name in CHANGE_NAMES.items():
        if name.lower() in raw.lower():
            codes.add(code)
    unknown = codes - CHANGE_NAMES.keys()
    if unknown:
        raise ValueError(f"unknown type-of-change code(s) {sorted(unknown)}")
    return sorted(codes)


def parse_concordance(path: Path, unit_groups: set[str]) -> list[Row]:
    """NOC 2016 V1.3 -> NOC 2021 V1.0 correspondence rows with normalised codes."""
    file = path.name
    columns = (
        "NOC 2016 V1.3 Code",
        "NOC 2016 V1.3 Title",
        "GSIM Type of Change",
        "NOC 2021 V1.0 Code",
        "NOC 2021 V1.0 Title",
        "Notes",
    )
    rows = []
    for record in read_records(path, columns):
        old = record["NOC 2016 V1.3 Code"].strip()
        new = record["NOC 2021 V1.0 Code"].strip()
        if not (old.isdigit() and len(old) <= 4):
            raise SourceFormatError(file, f"NOC 2016 code {old!r} is not a 4-digit code", line=record.line)
        if not (new.isdigit() and len(new) <= 5):
            raise SourceFormatError(file, f"NOC 2021 code {new!r} is not a 5-digit code", line=record.line)
        old, new = old.zfill(4), new.zfill(5)
        if new not in unit_groups:
            raise SourceFormatError(
                file, f"unknown NOC code {new}: not a NOC 2021 unit group", line=record.line
            )
        change = " ".join(record["GSIM Type of Change"].split())
        try:
            codes = change_codes(change)
        except ValueError as exc:
            raise SourceFormatError(file, str(exc), line=record.line) from None
        rows.append(
            {
                "noc2016_code": old,
                "noc2016_title": _text(record, "NOC 2016 V1.3 Title", file),
                "change_type": change,
                "change_codes": codes,
                "change_names": [CHANGE_NAMES[c] for c in codes],
                "noc2021_code": new,
                "noc2021_title": _text(record, "NOC 2021 V1.0 Title", file),
                "notes": _text(record, "Notes", file, allow_empty=True),
            }
        )
    return rows


ELEMENT_COLUMNS = (
    "Level",
    "Code - NOC 2021 V1.0",
    "Element Type Label English",
    "Element Description English",
)


def parse_elements_all_examples(path: Path, unit_groups: set[str]) -> list[Row]:
    """'All examples' rows of StatCan's NOC 2021 elements CSV (the official title index)."""
    file = path.name
    rows = []
    for record in read_records(path, ELEMENT_COLUMNS):
        if record["Element Type Label English"].strip() != "All examples":
            continue
        code = record["Code - NOC 2021 V1.0"].strip().zfill(5)
        if code not in unit_groups:
            raise SourceFormatError(file, f"unknown NOC code {code}", line=record.line)
        title = _text(record, "Element Description English", file)
        rows.append({"code": code, "title": title, "lang": "en", "source": "statcan_elements"})
    if not rows:
        raise SourceFormatError(file, "no 'All examples' rows found")
    return rows


def parse_bilingual_examples(path: Path, unit_groups: set[str]) -> list[Row]:
    """The derived bilingual 'All examples' index (JSON array, one object per unit group)."""
    file = path.name
    try:
        items = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SourceFormatError(file, f"not valid UTF-8 ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SourceFormatError(file, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(items, list):
        raise SourceFormatError(file, "expected a JSON array of unit groups")
    rows = []
    for position, item in enumerate(items, start=1):
        code = str(item.get("code", "")) if isinstance(item, dict) else ""
        if code not in unit_groups:
            raise SourceFormatError(file, f"item {position}: unknown NOC code {code!r}")
        for lang in ("en", "fr"):
            for title in item.get(f"examples_{lang}") or []:
                if isinstance(title, str) and title.strip():
                    rows.append(
                        {"code": code, "title": title.strip(), "lang": lang, "source": "derived_bilingual"}
                    )
    return rows
