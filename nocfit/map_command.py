"""`nocfit map`: one query as a readable table (or JSON), or a batch file in and out.

Batch input is JSON Lines or CSV (by extension, or --format) with ``id``, ``title``, ``duties``;
output is JSON Lines or CSV with ``id`` and ``suggestions`` (code, title, teer, confidence,
method, best first). A bad input line is reported with its line number and skipped; every
other line is mapped. Inputs are cut to bounded lengths by the normaliser, and batches are
mapped in chunks, so any input returns in bounded time.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from nocfit.model_store import ModelStore

CHUNK = 256
MAX_FIELD_CHARS = 20_000
#: Batches at least this large are mapped by several processes (forked, sharing the model).
PARALLEL_MIN_ITEMS = 2 * CHUNK


class MapInputError(ValueError):
    """The input file cannot be read at all (missing, wrong format)."""


@dataclass
class BatchItem:
    line: int
    id: str
    title: str
    duties: str


def load_model(path: Path | None = None):
    from mapper.model import MapperModel, ModelError

    target = path or ModelStore.default().current_path
    try:
        return MapperModel.load(target)
    except ModelError as exc:
        raise MapInputError(str(exc)) from None


def split_free_text(text: str) -> tuple[str, str]:
    """A lone argument: a short one-liner is a title; several lines are title + duties; a long
    sentence is duties."""
    text = text.strip()
    if "\n" in text:
        first, rest = text.split("\n", 1)
        return first.strip(), rest.strip()
    if len(text.split()) > 12:
        return "", text
    return text, ""


# ----------------------------------------------------------------------------- single query
def print_table(mapping, title: str, duties: str, out: TextIO) -> None:
    """A readable table of the suggestions with their evidence."""
    shown = title or "(no title)"
    print(f"Query: {shown}" + (f"  (+{len(duties.split())} words of duties)" if duties else ""), file=out)
    if not mapping.suggestions:
        print(
            "No suggestion: no word of the input is in the official NOC texts (nor a misspelling of one).",
            file=out,
        )
        return
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
        if rank == 1 and s.evidence.duty_alignment:
            cover = s.evidence.duty_coverage
            print(
                f"{'':>21}duties (covers {cover:.0%} of the code's main duties):"
                if cover is not None
                else f"{'':>21}duties:",
                file=out,
            )
            for a in s.evidence.duty_alignment[:8]:
                target = a.noc_duty or "(no similar main duty)"
                print(f"{'':>23}- {a.input_duty[:60]}  ->  {target[:70]} ({a.similarity:.2f})", file=out)
    flags = []
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
def detect_format(path: Path, explicit: str | None) -> str:
    if explicit:
        return explicit
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    raise MapInputError(f"cannot tell the format of {path.name}: use .jsonl or .csv, or pass --format")


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}")
    return value[:MAX_FIELD_CHARS]


def _item(line: int, row: object) -> BatchItem:
    if not isinstance(row, dict):
        raise ValueError(f"expected an object with id, title, duties; got {type(row).__name__}")
    raw_id = row.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise ValueError("missing id")
    if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool):
        raise ValueError(f"id must be a string or an integer, not {type(raw_id).__name__}")
    title, duties = _text(row.get("title"), "title"), _text(row.get("duties"), "duties")
    if not (title.strip() or duties.strip()):
        raise ValueError("title and duties are both empty")
    return BatchItem(line, str(raw_id)[:200], title, duties)


def read_batch(path: Path, fmt: str, errors: list[str]) -> Iterator[BatchItem]:
    """Valid items of a batch file; each bad line appends "line N: reason" to ``errors``."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise MapInputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
        if fmt == "jsonl":
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    yield _item(number, json.loads(line))
                except (ValueError, RecursionError) as exc:
                    errors.append(f"line {number}: {str(exc)[:200]}")
            return
        reader = csv.DictReader(text)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise MapInputError(f"{path.name}: the CSV header must have id, title, duties columns")
        for row in reader:
            number = reader.line_num
            try:
                yield _item(number, {k: v for k, v in row.items() if k is not None})
            except ValueError as exc:
                errors.append(f"line {number}: {exc}")


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
) -> tuple[int, list[str]]:
    """Map every valid line of ``input_path`` into ``output_path``; returns (mapped, errors)."""
    from tqdm import tqdm

    in_fmt = detect_format(input_path, input_format)
    out_fmt = detect_format(output_path, output_format)
    errors: list[str] = []
    total = _count_lines(input_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(output_path.name + ".part")
    mapped = 0
    mapper = ParallelMapper(model, workers=1 if total < PARALLEL_MIN_ITEMS else None)
    group = CHUNK * mapper.workers
    with (
        mapper,
        tmp.open("w", encoding="utf-8", newline="") as out,
        tqdm(total=total, unit="line", disable=not progress, file=err, desc="mapping") as bar,
    ):
        writer = None
        if out_fmt == "csv":
            writer = csv.writer(out)
            writer.writerow(["id", "rank", "code", "title", "teer", "confidence", "method", "ambiguous"])
        chunk: list[BatchItem] = []

        def flush() -> None:
            nonlocal mapped
            pieces = [chunk[k : k + CHUNK] for k in range(0, len(chunk), CHUNK)]
            results = mapper.map_chunks(
                [[(i.title, i.duties) for i in piece] for piece in pieces], top_k=top_k, evidence=evidence
            )
            for item, mapping in zip(chunk, [m for part in results for m in part], strict=True):
                suggestions = [_suggestion_record(s, evidence) for s in mapping.suggestions]
                if writer is None:
                    record = {
                        "id": item.id,
                        "suggestions": suggestions,
                        "ambiguous": mapping.ambiguous,
                        "title_duties_disagree": mapping.title_duties_disagree,
                    }
                    if mapping.title_read_as:
                        record["title_read_as"] = mapping.title_read_as
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                elif not suggestions:  # one row still, so every input id is in the output
                    writer.writerow([item.id, "", "", "", "", "", "", mapping.ambiguous])
                else:
                    for rank, s in enumerate(suggestions, start=1):
                        writer.writerow(
                            [
                                item.id,
                                rank,
                                s["code"],
                                s["title"],
                                s["teer"],
                                s["confidence"],
                                s["method"],
                                mapping.ambiguous,
                            ]
                        )
                mapped += 1
            bar.update(len(chunk))
            chunk.clear()

        last_line = 0
        for item in read_batch(input_path, in_fmt, errors):
            bar.update(max(0, item.line - last_line - 1))  # skipped (bad or blank) lines
            last_line = item.line
            chunk.append(item)
            if len(chunk) >= group:
                flush()
        if chunk:
            flush()
    tmp.replace(output_path)
    return mapped, errors


_WORKER_MODEL = None


def _map_chunk(args: tuple[list[tuple[str, str]], int, bool]):
    queries, top_k, evidence = args
    return _WORKER_MODEL.map_batch(queries, top_k=top_k, evidence=evidence)


class ParallelMapper:
    """Maps chunks in forked worker processes that share the loaded model (copy-on-write).

    Mapping is CPU-bound Python; one process per core roughly multiplies throughput. Falls back
    to the calling process when only one core is available.
    """

    def __init__(self, model, workers: int | None = None) -> None:
        import multiprocessing
        import os

        global _WORKER_MODEL
        self.model = model
        self.workers = workers or min(2, os.cpu_count() or 1)
        self.pool = None
        if self.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            _WORKER_MODEL = model
            self.pool = multiprocessing.get_context("fork").Pool(self.workers)

    def map_chunks(self, chunks: list[list[tuple[str, str]]], *, top_k: int, evidence: bool):
        if self.pool is None:
            return [self.model.map_batch(c, top_k=top_k, evidence=evidence) for c in chunks]
        return self.pool.map(_map_chunk, [(c, top_k, evidence) for c in chunks])

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()

    def __enter__(self) -> ParallelMapper:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)
