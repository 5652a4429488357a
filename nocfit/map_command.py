"""`nocfit map`: one query as a readable table (or JSON), or a batch file in and out.

Batch input is JSON Lines (or one JSON array of objects) or CSV (by extension, or --format)
with ``id``, ``title``, ``duties``; output is JSON Lines or CSV with ``id`` and ``suggestions``
(code, title, teer, confidence, method, best first). A bad input line (array: element) is
reported with its number and skipped; every other line is mapped. '-' reads standard input or
writes standard output. Inputs are cut to bounded lengths by the normaliser, and batches are
mapped in chunks, so any input returns in bounded time.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from mapper.normalize import MAX_TITLE_CHARS
from nocfit.model_store import ModelStore

CHUNK = 256
MAX_FIELD_CHARS = 20_000
MAX_ID_CHARS = 200
#: Batches at least this large are mapped by several processes (forked, sharing the model).
PARALLEL_MIN_ITEMS = 2 * CHUNK


class MapInputError(ValueError):
    """The input file cannot be read at all (missing, wrong format)."""


@dataclass
class BatchItem:
    line: int
    given_id: str | int  # as given: JSON Lines output keeps an integer id an integer
    title: str
    duties: str

    @property
    def id(self) -> str:
        return str(self.given_id)


def load_model(path: Path | None = None):
    from mapper.model import MapperModel, ModelError

    target = path or ModelStore.default().current_path
    try:
        return MapperModel.load(target)
    except ModelError as exc:
        raise MapInputError(str(exc)) from None


#: A lone one-line argument longer than this many words is read as duties, not as a title.
FREE_TEXT_TITLE_WORDS = 12


def split_free_text(text: str) -> tuple[str, str]:
    """A lone argument: a short one-liner is a title; several lines are title + duties (the
    first line the title); a one-liner of more than FREE_TEXT_TITLE_WORDS words is duties."""
    text = text.strip()
    if "\n" in text:
        first, rest = text.split("\n", 1)
        return first.strip(), rest.strip()
    if len(text.split()) > FREE_TEXT_TITLE_WORDS:
        return "", text
    return text, ""


# ----------------------------------------------------------------------------- single query
def _printable(text: str) -> str:
    """The text with control characters (terminal escape codes) shown as '?', not obeyed."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


#: Below this confidence the table says that the best code is a guess ("Teacher": 33%), also
#: when the runner-up is far behind (so not AMBIGUOUS).
LOW_CONFIDENCE = 0.5

#: Aligned duty lines the table shows (the JSON output has all of them).
TABLE_DUTY_LINES = 8


def print_table(mapping, title: str, duties: str, out: TextIO) -> None:
    """A readable table of the suggestions with their evidence."""
    shown = _printable(title) or "(no title)"
    print(f"Query: {shown}" + (f"  (+{len(duties.split())} words of duties)" if duties else ""), file=out)
    if not mapping.suggestions:
        print(
            "No suggestion: the input has no word of the official NOC texts (nor a misspelling of one) "
            "beyond words such as 'the' or 'of', or its title names no occupation ('N/A', 'Sr.', 'Volunteer').",
            file=out,
        )
        return
    if len(title) > MAX_TITLE_CHARS:
        print(
            f"(only the first {MAX_TITLE_CHARS} characters of the title are read: give the rest as duties)",
            file=out,
        )
    if mapping.title_read_as:
        print(
            f"Title read as: {mapping.title_read_as} (misspelt words read as the closest official title words)",
            file=out,
        )
    print(f"{'#':>2} {'NOC':<6} {'TEER':>4} {'conf':>6}  title", file=out)
    for rank, s in enumerate(mapping.suggestions, start=1):
        print(f"{rank:>2} {s.code:<6} {s.teer:>4} {s.confidence:>6.1%}  {s.title}  [{s.method}]", file=out)
        if s.evidence.matched_titles:
            matches = "; ".join(f"{m.title} ({m.similarity:.2f})" for m in s.evidence.matched_titles)
            print(f"{'':>21}titles: {matches}", file=out)
            if rank == 1 and any(m.similarity >= 0.995 for m in s.evidence.matched_titles):
                # say once what the number is: 1.00 reads like "identical"
                print(f"{'':>21}(1.00: the official title holds every word of yours)", file=out)
        if rank == 1 and s.evidence.duty_alignment:
            from mapper.normalize import split_duties
            from mapper.signals import COVERAGE_SIMILARITY

            cover = s.evidence.duty_coverage
            # The threshold is shown: lines that paraphrase a main duty can align below it,
            # and "covers 0%" beside a confident code would otherwise read as a contradiction.
            print(
                f"{'':>21}duties (cover {cover:.0%} of the code's main duties at similarity "
                f">= {COVERAGE_SIMILARITY}):"
                if cover is not None
                else f"{'':>21}duties:",
                file=out,
            )
            aligned = s.evidence.duty_alignment
            for a in aligned[:TABLE_DUTY_LINES]:
                target = a.noc_duty or "(no similar main duty)"
                line = _printable(a.input_duty[:60])
                print(f"{'':>23}- {line}  ->  {target[:70]} ({a.similarity:.2f})", file=out)
            # Say what is not shown: a letter's first lines are often its letterhead.
            if len(aligned) > TABLE_DUTY_LINES:
                print(
                    f"{'':>23}... and {len(aligned) - TABLE_DUTY_LINES} more lines (--json shows all)",
                    file=out,
                )
            written = len(split_duties(duties, max_lines=len(duties)))
            if written > len(aligned):
                print(
                    f"{'':>23}(only the first {len(aligned)} of {written} duty lines are aligned; "
                    "every word still counts towards the codes)",
                    file=out,
                )
    flags = []
    best = mapping.suggestions[0].confidence
    if best < LOW_CONFIDENCE:
        flags.append(
            f"LOW CONFIDENCE: a best code at {best:.0%} is right about {round(best * 10)} times in 10"
            + ("; the duties would help" if not duties.strip() else "; read the duties")
        )
    if mapping.duties_look_french:
        flags.append(
            "DUTIES LOOK FRENCH: the duty signals compare them with NOC's English main duties, "
            "so the alignment and any disagreement above mean little; give the duties in English"
        )
    if mapping.ambiguous:
        flags.append("AMBIGUOUS: the top suggestions are close; read the duties")
    if mapping.title_duties_disagree:
        flags.append(
            f"TITLE AND DUTIES DISAGREE: title alone suggests {mapping.title_only_code}, "
            f"duties alone {mapping.duties_only_code}; officers judge by duties"
        )
    for flag in flags:
        print(f"! {flag}", file=out)


# ----------------------------------------------------------------------------- batch
#: Extensions that tell the batch format; ``--format`` is for files whose extension does not.
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}
#: CSV field separators tried on the header line, in this order (';' is Excel's in French locales).
CSV_DELIMITERS = (",", ";", "\t")
CSV_HEADER = [
    "id", "rank", "code", "title", "teer", "confidence", "method",
    "ambiguous", "title_duties_disagree", "title_only_code", "duties_only_code", "title_read_as",
    "duties_look_french",  # last: added after the others, so their columns keep their places
]  # fmt: skip
UTF8_HELP = "save the file as UTF-8 (in Excel: 'CSV UTF-8')"


#: The name that stands for standard input or output in --input/--output.
STDIO = "-"
#: Names of the temporary files behind the streams: messages about them read naturally.
STDIN_NAME, STDOUT_NAME = "standard input", "standard output"


@contextlib.contextmanager
def standard_streams(input_name: str, output_name: str) -> Iterator[tuple[Path, Path]]:
    """Paths to map from and into, with '-' standing for standard input or output.

    Standard input is copied to a temporary file first (the batch is read twice: once to check
    it, once to map it). Output for standard output is written to a temporary file and copied
    out only when the whole batch succeeded, so a failure sends nothing down the pipe, as with
    a file. The temporary files have no extension: their formats come from ``input_format_for`` and
    ``output_format_for``.
    """
    import shutil
    import tempfile

    if STDIO not in (input_name, output_name):
        yield Path(input_name), Path(output_name)
        return
    if input_name == STDIO and sys.stdin is None:
        raise MapInputError("standard input is closed")
    if output_name == STDIO and sys.stdout is None:
        raise MapInputError("standard output is closed")
    with tempfile.TemporaryDirectory(prefix="nocfit-map-") as tmp:
        input_path, output_path = Path(input_name), Path(output_name)
        if input_name == STDIO:
            if sys.stdin.isatty():  # else it looks like a hang
                print("nocfit map: reading standard input (end it with Ctrl-D)", file=sys.stderr)
            input_path = Path(tmp, STDIN_NAME)
            _copy_standard_input(input_path)
        if output_name == STDIO:
            output_path = Path(tmp, STDOUT_NAME)
        yield input_path, output_path
        if output_name == STDIO and output_path.exists():  # nothing written when every line was bad
            with output_path.open("rb") as result:
                shutil.copyfileobj(result, sys.stdout.buffer)
            sys.stdout.buffer.flush()


def _copy_standard_input(target: Path) -> None:
    """Unbuffered reads: each returns what a terminal line gave, so one Ctrl-D at the start of
    a line ends the input (a buffered 64 KiB read goes on reading after it)."""
    import os

    descriptor = sys.stdin.fileno()
    with target.open("wb") as copy:
        while chunk := os.read(descriptor, 1 << 16):
            copy.write(chunk)


def input_format_for(name: str, path: Path, explicit: str | None) -> str | None:
    """The input's format option: as given; for standard input, else from its first character
    (``{`` or ``[``: JSON, anything else: CSV, whose header tells the separator)."""
    if explicit or name != STDIO:
        return explicit
    return "jsonl" if _first_character(path) in (b"{", b"[", b"") else "csv"


def output_format_for(name: str, explicit: str | None) -> str | None:
    """The output's format option: as given; standard output is JSON Lines unless told."""
    return explicit or ("jsonl" if name == STDIO else None)


def _refuse_utf16(path: Path) -> None:
    """A UTF-16 file (Excel's "Unicode text", PowerShell 5's default) is refused whole: read
    as UTF-8, every line of it would be a bad line."""
    with path.open("rb") as handle:
        start = handle.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff"):
        raise MapInputError(f"{path.name} is UTF-16 text, not UTF-8; {UTF8_HELP}; nothing was written")


def _first_character(path: Path) -> bytes:
    """The first byte of a file that is not white space (after a BOM), or b'' if none."""
    with path.open("rb") as handle:
        if handle.read(3) != b"\xef\xbb\xbf":
            handle.seek(0)
        while chunk := handle.read(1 << 16):
            if stripped := chunk.lstrip():
                return stripped[:1]
    return b""


def detect_format(path: Path, explicit: str | None) -> str:
    """``jsonl``, ``csv`` or ``tsv``: from the extension, else from ``--format``."""
    known = FORMATS.get(path.suffix.lower())
    if known or explicit:
        return known or explicit  # type: ignore[return-value]
    raise MapInputError(f"cannot tell the format of {path.name}: use .jsonl or .csv, or pass --format")


def check_format_option(paths: list[Path], explicit: str | None, option: str = "--format") -> None:
    """A format option is for a file whose extension does not tell; an extension always wins.
    ``--format`` covers input and output (``paths``), ``--input-format`` one of them."""
    if explicit and all(path.suffix.lower() in FORMATS for path in paths):
        raise MapInputError(
            f"{option} is only for a file whose extension does not tell the format; "
            f"{' and '.join(p.name for p in paths)} already {'does' if len(paths) == 1 else 'do'} "
            f"(drop {option} {explicit})"
        )


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}")
    # A lone surrogate ("\ud800" is valid JSON) cannot be written out again: read it as U+FFFD.
    return value[:MAX_FIELD_CHARS].encode("utf-8", "replace").decode("utf-8")


#: The fields a batch item has; any case of these names is read (CSV columns and JSON keys alike).
FIELDS = ("id", "title", "duties")


def unread_lookalike(names: list[str]) -> str | None:
    """A field name that looks like the title or the duties but is not read ('Job Title',
    'main_duties') while the field it stands for is missing, or None.

    Such a column used to be ignored without a word, and its rows were mapped from the
    other field alone (a nurse's "Job Title" column lost: mapped as receptionist by its duties).
    """
    folded = [name.strip().casefold() for name in names]
    for field, part in (("title", "title"), ("duties", "dut")):
        if field not in folded:
            for name, fold in zip(names, folded, strict=True):
                if part in fold:
                    return name
    return None


def _lookalike_message(name: str) -> str:
    field = "title" if "title" in name.casefold() else "duties"
    return f"{name!r} is not read: nocfit reads id, title and duties (rename {name!r} to {field!r})"


def _item(line: int, row: object) -> BatchItem:
    if not isinstance(row, dict):
        raise ValueError(f"expected an object with id, title, duties; got {type(row).__name__}")
    lookalike = unread_lookalike([key for key, value in row.items() if value not in (None, "")])
    if lookalike is not None:
        raise ValueError(_lookalike_message(lookalike))
    fields: dict[str, object] = {}
    for key, value in row.items():
        name = key.strip().casefold()
        if name in FIELDS and (name not in fields or key == name):  # "title" wins over "Title"
            fields[name] = value
    row = fields
    raw_id = row.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise ValueError("missing id")
    if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool):
        raise ValueError(f"id must be a string or an integer, not {type(raw_id).__name__}")
    item_id = str(raw_id)
    if len(item_id) > MAX_ID_CHARS:
        raise ValueError(f"id is longer than {MAX_ID_CHARS} characters")
    try:
        item_id.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("id is not valid Unicode text (it holds a lone surrogate)") from None
    title, duties = _text(row.get("title"), "title"), _text(row.get("duties"), "duties")
    if not (title.strip() or duties.strip()):
        raise ValueError("title and duties are both empty")
    return BatchItem(line, raw_id, title, duties)


def _lines(handle) -> Iterator[bytes]:
    """Lines of a binary file ending in LF or CRLF, or in a lone CR (classic Mac OS, and
    Excel's "CSV (Macintosh)"), which would otherwise make the whole file one line."""
    for raw in handle:
        ending = b"\r\n" if raw.endswith(b"\r\n") else raw[-1:] if raw.endswith((b"\n", b"\r")) else b""
        body = raw[: len(raw) - len(ending)]
        if b"\r" not in body:
            yield raw
            continue
        pieces = body.split(b"\r")  # 'a\r\r\n' is two lines, the second empty
        yield from (piece + b"\n" for piece in pieces[:-1])
        yield pieces[-1] + ending


def _decoded_lines(handle) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of a binary file; text is None for a line that is not UTF-8."""
    for number, raw in enumerate(_lines(handle), start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # the BOM Excel and PowerShell write
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def _jsonl_items(path: Path, lines, errors: list[str]) -> Iterator[BatchItem]:
    for number, line in lines:
        if line is None:
            errors.append(f"line {number}: not UTF-8 text; {UTF8_HELP}")
            continue
        if not line.strip():
            continue
        try:
            yield _item(number, json.loads(line.rstrip("\r\n")))  # error columns on this line
        except (ValueError, RecursionError) as exc:
            errors.append(f"line {number}: {str(exc)[:200]}")


def json_array_length(path: Path) -> int | None:
    """The number of elements of a file that holds one JSON array (``[{...}, {...}]``), or None
    for JSON Lines (whose first line may itself be an array: a bad line, reported as such).

    The whole array is checked here, element by element (``nocfit.json_array``: memory stays
    bounded): a fault anywhere in it (unlike a bad line of JSON Lines) leaves nothing that can
    be trusted, so it stops the batch before anything is mapped.
    """
    from nocfit import json_array

    if _first_character(path) != b"[":
        return None
    try:
        return sum(1 for _ in json_array.elements(path))
    except (json_array.NotAnArray, json_array.NotUtf8) as exc:
        if _first_line_is_json(path):
            return None  # JSON Lines
        if isinstance(exc, json_array.NotUtf8):
            raise MapInputError(f"{path.name}: {exc}; {UTF8_HELP}") from None
        raise MapInputError(
            f"{path.name}: not a valid JSON array: {str(exc)[:200]}; nothing was written"
        ) from None


def _first_line_is_json(path: Path) -> bool:
    """Whether the first line with text on it is a JSON value by itself."""
    line = _first_text_line(path)
    return line is not None and _is_json(line)


def _first_text_line(path: Path) -> str | None:
    """The first line with text on it, stripped (None: no such line, or not UTF-8)."""
    with path.open("rb") as handle:
        for _, line in _decoded_lines(handle):
            if line is None:
                return None
            if line.strip():
                return line.strip()
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _json_array_items(path: Path, errors: list[str]) -> Iterator[BatchItem]:
    """Items of a JSON array, read one at a time; ``BatchItem.line`` is the element's position
    (1-based). The array was checked whole before (``json_array_length``)."""
    from nocfit import json_array

    try:
        for number, row in enumerate(json_array.elements(path), start=1):
            try:
                yield _item(number, row)
            except ValueError as exc:
                errors.append(f"item {number}: {exc}")
    except (json_array.NotAnArray, json_array.NotUtf8) as exc:  # changed since it was checked
        raise MapInputError(f"{path.name} changed while it was mapped: {exc}; nothing was written") from None


def _csv_items(path: Path, fmt: str, lines, errors: list[str]) -> Iterator[BatchItem]:
    """Rows of a CSV/TSV file. Unreadable text or broken quoting stops the file (nothing is
    written), because every row after it would be misread; a row with more cells than the
    header is a bad line (an unquoted separator inside a field)."""

    def texts():
        for number, text in lines:
            if text is None:
                raise MapInputError(f"{path.name}, line {number}: not UTF-8 text; {UTF8_HELP}")
            yield text

    stream = texts()
    header_line = next(stream, "")
    names, delimiter = _csv_header(path, header_line, ("\t",) if fmt == "tsv" else CSV_DELIMITERS)
    # Long duties are cut later (MAX_FIELD_CHARS); the module's 128 KiB default would stop the file.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    reader = csv.reader(stream, delimiter=delimiter, strict=True)
    start = 2
    try:
        for cells in reader:
            number, start = start, reader.line_num + 2  # a record's first line; the header is line 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(names):
                errors.append(
                    f"line {number}: {len(cells)} cells but the header has {len(names)} "
                    f"(a {_delimiter_name(delimiter)} inside a field that is not quoted?)"
                )
                continue
            try:
                yield _item(number, dict(zip(names, cells, strict=False)))  # short rows: empty cells
            except ValueError as exc:
                errors.append(f"line {number}: {exc}")
    except csv.Error as exc:
        raise MapInputError(
            f"{path.name}, line {start}: {exc} (a quote that is never closed?); nothing was written"
        ) from None


def _csv_header(path: Path, line: str, delimiters: tuple[str, ...]) -> tuple[list[str], str]:
    """Column names (trimmed, lower case) and the separator that gives an ``id`` column."""
    for delimiter in delimiters:
        try:
            written = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error as exc:
            raise MapInputError(f"{path.name}, line 1: the header cannot be read as CSV ({exc})") from None
        names = [name.strip().casefold() for name in written]
        if "id" in names and ({"title", "duties"} & set(names)):
            lookalike = unread_lookalike(written)
            if lookalike is not None:
                raise MapInputError(f"{path.name}: the column {_lookalike_message(lookalike)}")
            return names, delimiter
    found = line.strip()[:80] or "an empty file"
    raise MapInputError(f"{path.name}: the header must name the columns id, title, duties (found: {found})")


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]


def read_batch(path: Path, fmt: str, errors: list[str], *, array: bool = False) -> Iterator[BatchItem]:
    """Valid items of a batch file; each bad line appends "line N: reason" to ``errors``.
    ``array``: the file holds one JSON array (``json_array_length``), not JSON Lines."""
    if array:
        yield from _json_array_items(path, errors)
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise MapInputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        lines = _decoded_lines(handle)
        if fmt == "jsonl":
            yield from _jsonl_items(path, lines, errors)
        else:
            yield from _csv_items(path, fmt, lines, errors)


def check_batch(
    input_path: Path,
    output_path: Path,
    input_format: str | None,
    output_format: str | None,
    *,
    evidence: bool = False,
) -> BatchPlan:
    """Everything that can fail before mapping starts; returns what was found.

    The whole input is read once (CSV: parsed), so a file that cannot be read fails now, not
    after minutes of mapping.
    """
    from nocfit.output_file import OutputPathError, check_output_path

    check_format_option([input_path, output_path], input_format or output_format)
    in_fmt = detect_format(input_path, input_format)
    out_fmt = detect_format(output_path, output_format)
    if evidence and out_fmt != "jsonl":
        raise MapInputError("--evidence needs JSON Lines output (.jsonl): a CSV row has no room for it")
    try:
        check_output_path(output_path, input_path=input_path)
        check_output_path(output_path.with_name(output_path.name + ".part"), input_path=input_path)
    except OutputPathError as exc:
        raise MapInputError(str(exc)) from None
    _refuse_utf16(input_path)
    length = json_array_length(input_path) if in_fmt == "jsonl" else None
    if length is not None:
        return BatchPlan(length, in_fmt, out_fmt, "item")
    if in_fmt == "jsonl" and _first_text_line(input_path) == "{":
        # `jq .` writes each object over several lines: every line would be a bad line.
        raise MapInputError(
            f"{input_path.name}: the JSON objects are written over several lines; write one object "
            "per line (`jq -c .`) or one JSON array"
        )
    if in_fmt != "jsonl":
        for _ in read_batch(input_path, in_fmt, []):
            pass
    return BatchPlan(_count_lines(input_path), in_fmt, out_fmt, "line")


@dataclass
class BatchPlan:
    total: int  # lines of the input (array: elements), for the progress bar
    input_format: str
    output_format: str
    unit: str  # what the input is counted in: "line", or "item" for a JSON array


@dataclass
class BatchReport:
    mapped: int
    errors: list[str]  # "line N: reason" for each line not mapped
    repeated_ids: dict[str, list[int]]  # an id on several lines -> those lines (all were mapped)
    unit: str = "line"  # "item" for a JSON array
    #: False when every line was bad: the output was left as it was (not replaced by an empty file).
    written: bool = True

    @property
    def exit_code(self) -> int:
        from nocfit.output_file import batch_exit_code

        return batch_exit_code(done=self.mapped, bad=len(self.errors))


class _NothingMapped(Exception):
    """Every line was bad: abandon the output file rather than replace it with an empty one."""


def print_batch_report(report: BatchReport, source: str, target: str, err: TextIO) -> None:
    unit = report.unit
    for error in report.errors:  # every one: a bad line left unnamed would be lost without a trace
        print(f"nocfit map: {source}, {error}", file=err)
    if report.repeated_ids:
        some = list(report.repeated_ids.items())[:3]
        examples = "; ".join(f"{i!r} on {unit}s {', '.join(map(str, lines[:5]))}" for i, lines in some)
        print(
            f"nocfit map: note: {len(report.repeated_ids)} id(s) appear on several {unit}s ({examples}); "
            f"every {unit} was mapped",
            file=err,
        )
    if not report.written:
        kept = "nothing written to standard output" if target == STDOUT_NAME else f"{target} left as it was"
        print(f"nocfit map: every {unit} is bad: nothing mapped, {kept}", file=err)
        return
    if not report.mapped:
        print(f"nocfit map: note: {source} holds no {unit} to map", file=err)
    print(
        f"mapped {report.mapped} {unit}(s) into {target}; {len(report.errors)} bad {unit}(s) skipped",
        file=err,
    )


def _suggestion_record(s, with_evidence: bool) -> dict:
    record = {
        "code": s.code,
        "title": s.title,
        "teer": s.teer,
        "confidence": s.confidence,
        "method": s.method,
    }
    if with_evidence:
        record["evidence"] = asdict(s.evidence)
    return record


def _disagreeing_codes(mapping) -> tuple[str, str]:
    """What the title alone and the duties alone suggest, when they disagree (else empty)."""
    if not mapping.title_duties_disagree:
        return "", ""
    return mapping.title_only_code or "", mapping.duties_only_code or ""


def _csv_rows(item_id: str, mapping) -> list[list]:
    """One row per suggestion; the query's flags repeat on each row."""
    flags = [
        mapping.ambiguous,
        mapping.title_duties_disagree,
        *_disagreeing_codes(mapping),
        mapping.title_read_as or "",
        mapping.duties_look_french,
    ]
    if not mapping.suggestions:  # one row still, so every input id is in the output
        return [[item_id, "", "", "", "", "", "", *flags]]
    return [
        [item_id, rank, s.code, s.title, s.teer, s.confidence, s.method, *flags]
        for rank, s in enumerate(mapping.suggestions, start=1)
    ]


def map_batch_file(
    model,
    input_path: Path,
    output_path: Path,
    *,
    top_k: int = 5,
    input_format: str | None = None,
    output_format: str | None = None,
    evidence: bool = False,
    progress: bool = True,
    err: TextIO = sys.stderr,
) -> BatchReport:
    """Map every valid line of ``input_path`` into ``output_path`` (written whole or not at all)."""
    from tqdm import tqdm

    from nocfit.output_file import OutputPathError, written_whole

    plan = check_batch(input_path, output_path, input_format, output_format, evidence=evidence)
    total, in_fmt, out_fmt = plan.total, plan.input_format, plan.output_format
    report = BatchReport(0, [], {}, plan.unit)
    first_line: dict[str, int] = {}
    mapper = ParallelMapper(model, workers=1 if total < PARALLEL_MIN_ITEMS else None)
    group = CHUNK * mapper.workers
    try:
        with (
            mapper,
            written_whole(output_path, newline="") as out,
            tqdm(total=total, unit="line", disable=not progress, file=err, desc="mapping") as bar,
        ):
            writer = (
                csv.writer(out, delimiter="\t" if out_fmt == "tsv" else ",") if out_fmt != "jsonl" else None
            )
            if writer is not None:
                writer.writerow(CSV_HEADER)
            chunk: list[BatchItem] = []

            def flush() -> None:
                pieces = [chunk[k : k + CHUNK] for k in range(0, len(chunk), CHUNK)]
                results = mapper.map_chunks(
                    [[(i.title, i.duties) for i in piece] for piece in pieces], top_k=top_k, evidence=evidence
                )
                for item, mapping in zip(chunk, [m for part in results for m in part], strict=True):
                    if writer is not None:
                        writer.writerows(_csv_rows(item.id, mapping))
                    else:
                        record = {
                            "id": item.given_id,
                            "suggestions": [_suggestion_record(s, evidence) for s in mapping.suggestions],
                            "ambiguous": mapping.ambiguous,
                            "title_duties_disagree": mapping.title_duties_disagree,
                            "duties_look_french": mapping.duties_look_french,
                        }
                        if mapping.title_duties_disagree:
                            record["title_only_code"], record["duties_only_code"] = _disagreeing_codes(
                                mapping
                            )
                        if mapping.title_read_as:
                            record["title_read_as"] = mapping.title_read_as
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    report.mapped += 1
                bar.update(max(0, chunk[-1].line - bar.n))
                chunk.clear()

            for item in read_batch(input_path, in_fmt, report.errors, array=plan.unit == "item"):
                if item.id in first_line:
                    report.repeated_ids.setdefault(item.id, [first_line[item.id]]).append(item.line)
                else:
                    first_line[item.id] = item.line
                chunk.append(item)
                if len(chunk) >= group:
                    flush()
            if chunk:
                flush()
            bar.update(total - bar.n)  # trailing blank or bad lines
            if report.errors and not report.mapped:
                raise _NothingMapped
    except _NothingMapped:
        report.written = False
    except OutputPathError as exc:
        raise MapInputError(str(exc)) from None
    return report


_WORKER_MODEL = None


class WorkerError(RuntimeError):
    """A mapping worker process failed or stopped."""


def _stopped(process) -> WorkerError:
    process.join(timeout=5)  # reaped, so that its exit code is known
    return WorkerError(f"a mapping worker stopped (exit code {process.exitcode})")


#: Signals that stop a batch: Ctrl-C, `kill`, a closed terminal. The parent turns them into
#: KeyboardInterrupt (files cleaned up); workers ignore them and are stopped by the parent.
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def _serve(connection, parent_ends: list) -> None:
    """A worker: maps each chunk it receives until told to stop (None) or the parent is gone."""
    import signal

    # Ctrl-C and SIGTERM reach the whole process group; the parent stops the workers itself.
    for name in STOP_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    for end in parent_ends:  # copies from the fork: while open, a dead parent is never seen
        end.close()
    while True:
        try:
            task = connection.recv()
        except EOFError:  # the parent died
            return
        if task is None:
            return
        queries, top_k, evidence = task
        try:
            reply = ("ok", _WORKER_MODEL.map_batch(queries, top_k=top_k, evidence=evidence))
        except Exception as exc:  # sent back and raised in the parent
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            connection.send(reply)
        except OSError:  # the parent died meanwhile
            return


class ParallelMapper:
    """Maps chunks in forked worker processes that share the loaded model (copy-on-write).

    Mapping is CPU-bound Python; one process per core roughly multiplies throughput. Falls back
    to the calling process when only one core is available. Each worker has a pipe of its own,
    so a worker that dies (the OOM killer, a crash) is seen at once: with
    ``multiprocessing.Pool``, its task was lost and the batch waited forever.
    """

    def __init__(self, model, workers: int | None = None) -> None:
        import multiprocessing
        import os

        global _WORKER_MODEL
        self.model = model
        self.workers = workers or min(2, os.cpu_count() or 1)
        self.processes: list = []  # (process, the parent's end of its pipe)
        if self.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            _WORKER_MODEL = model
            context = multiprocessing.get_context("fork")
            for _ in range(self.workers):
                ours, theirs = context.Pipe()
                parent_ends = [end for _, end in self.processes] + [ours]
                process = context.Process(target=_serve, args=(theirs, parent_ends), daemon=True)
                process.start()
                theirs.close()
                self.processes.append((process, ours))

    def map_chunks(self, chunks: list[list[tuple[str, str]]], *, top_k: int, evidence: bool):
        """Mapping of each chunk, in order; a worker that is done gets the next chunk."""
        from multiprocessing.connection import wait

        if not self.processes:
            return [self.model.map_batch(c, top_k=top_k, evidence=evidence) for c in chunks]
        results: list = [None] * len(chunks)
        todo = iter(enumerate(chunks))
        working: dict = {}  # connection -> (chunk index, process)

        def hand_out(process, connection) -> None:
            task = next(todo, None)
            if task is not None:
                try:
                    connection.send((task[1], top_k, evidence))
                except OSError:
                    raise _stopped(process) from None
                working[connection] = (task[0], process)

        for process, connection in self.processes:
            hand_out(process, connection)
        while working:
            for connection in wait(list(working)):
                index, process = working.pop(connection)
                try:
                    status, value = connection.recv()
                except (EOFError, OSError):  # OSError: reset by a worker that died mid-send
                    raise _stopped(process) from None
                if status != "ok":
                    raise WorkerError(f"a mapping worker failed: {value}")
                results[index] = value
                hand_out(process, connection)
        return results

    def close(self, *, failed: bool = False) -> None:
        for process, connection in self.processes:
            if failed:  # its work will never be collected
                process.kill()
            else:
                with contextlib.suppress(OSError):  # a worker that died idle owes nothing
                    connection.send(None)
        for process, connection in self.processes:
            process.join()
            connection.close()
        self.processes = []

    def __enter__(self) -> ParallelMapper:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(failed=exc_type is not None)


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in _lines(handle))
