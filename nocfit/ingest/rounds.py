"""Parse IRCC's Express Entry rounds-of-invitations JSON (``ee_rounds_123_en.json``).

The feed is ``{"classes": ..., "rounds": [...]}`` with one object per round, newest first, every
value a string. Rows come back oldest first. Any malformed round raises
:class:`SourceFormatError` naming the file, the round number and (where the rounds can be
paired with their ``"drawNumber"`` lines) the JSON line of the round.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from nocfit.categories.load import UnmappedDrawName
from nocfit.categories.model import DrawNameMap
from nocfit.ingest.csvfile import SourceFormatError, decode_utf8

REQUIRED = (
    "drawNumber",
    "drawDate",
    "drawName",
    "drawSize",
    "drawCRS",
    "drawText2",
    "drawCutOff",
    "drawDistributionAsOn",
)
ROUND_NUMBER = re.compile(r"^(\d+)([a-z]?)$")
COUNT = re.compile(r"^\d{1,3}(,\d{3})*$|^\d+$")  # "5,000" or "5000"
HREF = re.compile(r"href=['\"]([^'\"]+)['\"]")
SITE = "https://www.canada.ca"
GENERAL_ROUNDS = frozenset({"General", "No Program Specified"})
PROGRAM_ROUNDS = frozenset(
    {
        "Canadian Experience Class",
        "Provincial Nominee Program",
        "Federal Skilled Worker",
        "Federal Skilled Trades",
    }
)


class _Bad(ValueError):
    """A problem in one round; turned into a SourceFormatError naming the round."""


def _round_lines(text: str) -> list[int]:
    """JSON line of each ``"drawNumber"`` key, in file order (one per round when well formed)."""
    return [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r'"drawNumber"\s*:', text)]


def _round_starts(text: str) -> list[int]:
    """JSON line where each element of the first ``"rounds"`` array starts (empty if unreadable).

    Used when the ``"drawNumber"`` keys cannot be paired with the rounds (a key is damaged or
    missing), so an error still names the line of its round.
    """
    match = re.search(r'"rounds"\s*:\s*\[', text)
    if not match:
        return []
    decoder = json.JSONDecoder()
    separators = re.compile(r"[\s,]*")
    lines: list[int] = []
    line, counted, pos = 1, 0, match.end()
    while True:
        pos = separators.match(text, pos).end()
        if pos >= len(text) or text[pos] == "]":
            return lines
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return []
        line += text.count("\n", counted, pos)
        counted = pos
        lines.append(line)
        pos = end


def _count(value: str, field: str) -> int:
    value = value.strip()
    if not COUNT.match(value):
        raise _Bad(f"{field} {value!r} is not a whole number")
    return int(value.replace(",", ""))


def _iso_date(value: str, field: str) -> dt.date:
    try:
        return dt.datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise _Bad(f"{field} {value!r} is not a date like 2026-08-19") from None


def _long_date(value: str, field: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.datetime.strptime(value.strip(), "%B %d, %Y").date()
    except ValueError:
        raise _Bad(f"{field} {value!r} is not a date like 'August 16, 2026'") from None


def _url(html: object) -> str | None:
    """Absolute canada.ca address of the round's Ministerial Instructions page, if a link is given."""
    match = HREF.search(html) if isinstance(html, str) else None
    if not match:
        return None
    path = match.group(1)
    if path.startswith("/content/canadasite/"):  # internal CMS path of the public /en/... page
        path = path[len("/content/canadasite") :]
    return SITE + path if path.startswith("/") else path


def _row(item: object) -> dict:
    if not isinstance(item, dict):
        raise _Bad(f"expected an object, found {type(item).__name__}")
    missing = [k for k in REQUIRED if k not in item]
    if missing:
        raise _Bad(f"missing field(s) {', '.join(missing)}")
    not_text = [k for k in REQUIRED if not isinstance(item[k], str)]
    if not_text:
        raise _Bad(f"field(s) {', '.join(not_text)} should be strings")
    number = item["drawNumber"].strip()
    match = ROUND_NUMBER.match(number)
    if not match:
        raise _Bad(f"drawNumber {number!r} is not a round number like 91 or 91a")
    digits, letter = match.groups()
    name = item["drawName"].strip()
    if not name:
        raise _Bad("empty drawName")
    return {
        "round_number": number,
        # 91 -> 910, 91a -> 911, 91b -> 912: sorts rounds in the order IRCC numbered them.
        "round_sort_key": int(digits) * 10 + (ord(letter) - ord("a") + 1 if letter else 0),
        "round_date": _iso_date(item["drawDate"], "drawDate"),
        "round_name": name,
        "invitations": _count(item["drawSize"], "drawSize (invitations)"),
        "crs_cutoff": _count(item["drawCRS"], "drawCRS"),
        "programs": item["drawText2"].strip() or None,
        "tie_break_at": item["drawCutOff"].strip() or None,
        "distribution_as_of": _long_date(item["drawDistributionAsOn"], "drawDistributionAsOn"),
        "url": _url(item.get("drawNumberURL")),
    }


def parse_rounds(path: Path) -> list[dict]:
    """One row per round, oldest first (by ``round_sort_key``)."""
    file = path.name
    text = decode_utf8(Path(file), path.read_bytes())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(file, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("rounds"), list):
        raise SourceFormatError(file, 'expected a JSON object with a "rounds" list', line=1)
    if not data["rounds"]:
        raise SourceFormatError(file, '"rounds" is empty', line=1)
    lines = _round_lines(text)
    if len(lines) != len(data["rounds"]):
        lines = _round_starts(text)  # a "drawNumber" key is damaged: where each round starts
    if len(lines) != len(data["rounds"]):
        lines = []  # rounds cannot be paired with lines; report the round number only
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data["rounds"]):
        number = item.get("drawNumber") if isinstance(item, dict) else None
        label = (
            f"round {number.strip()}" if isinstance(number, str) and number.strip() else f"rounds[{index}]"
        )
        line = lines[index] if lines else None
        try:
            row = _row(item)
        except _Bad as exc:
            raise SourceFormatError(file, f"{label}: {exc}", line=line) from None
        if row["round_number"] in seen:
            raise SourceFormatError(
                file, f"{label}: duplicate round number (also rounds[{seen[row['round_number']]}])", line=line
            )
        seen[row["round_number"]] = index
        rows.append(row)
    rows.sort(key=lambda r: r["round_sort_key"])
    return rows


def round_type(name: str, draw_map: DrawNameMap) -> str:
    """'category-based', 'program-specific' or 'general' for a round name as published.

    The name must be in ``draw_names.yaml``; a non-category name must also be one of the known
    general or program rounds. Anything else raises :class:`UnmappedDrawName`.
    """
    if any(d.draw_name == name for d in draw_map.category_draws):
        return "category-based"
    if name not in draw_map.non_category_draws:
        raise UnmappedDrawName(f"IRCC round name {name!r} is not in draw_names.yaml")
    if name in GENERAL_ROUNDS:
        return "general"
    if name in PROGRAM_ROUNDS:
        return "program-specific"
    raise UnmappedDrawName(
        f"IRCC round name {name!r} is a non-category round of unknown type; add it to "
        "GENERAL_ROUNDS or PROGRAM_ROUNDS in nocfit/ingest/rounds.py"
    )
