"""Assess a batch of candidates: map each work spell, then evaluate the categories in force.

Shared by `nocfit fit` (prints and writes JSON Lines) and the Dagster candidate assets (write
the ``candidates.*`` tables). Personal data (titles, duties, employers) goes only into the
output and the warehouse, never into logs: callers log counts and ids only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nocfit.categories.load import version_in_force
from nocfit.categories.model import CategoryVersion
from nocfit.fit import Candidate, CategoryResult, Reject, evaluate_version, read_candidates_file

TOP_K = 5


@dataclass
class Assessment:
    candidates: list[Candidate]
    rejects: list[Reject]
    #: (candidate_id, spell index) -> mapper Mapping of that spell
    mappings: dict[tuple[str, int], object] = field(default_factory=dict)
    results: list[CategoryResult] = field(default_factory=list)
    #: candidate_id -> version_id in force on its as_of (None before the first list)
    versions: dict[str, str | None] = field(default_factory=dict)


def assess(
    candidates: Sequence[Candidate],
    rejects: Sequence[Reject],
    *,
    model,
    versions: Sequence[CategoryVersion],
    noc_titles: dict[str, str] | None = None,
) -> Assessment:
    """Map every spell (one batch call) and evaluate each candidate under its version in force."""
    assessment = Assessment(list(candidates), list(rejects))
    spells = [(c.candidate_id, i, s) for c in candidates for i, s in enumerate(c.work_experience)]
    mappings = model.map_batch([(s.title, s.duties) for _, _, s in spells], top_k=TOP_K, evidence=False)
    for (candidate_id, index, _), mapping in zip(spells, mappings, strict=True):
        assessment.mappings[(candidate_id, index)] = mapping
    versions = list(versions)
    for candidate in candidates:
        version = version_in_force(candidate.as_of, versions)
        assessment.versions[candidate.candidate_id] = version.version_id if version else None
        if version is None:
            continue
        predictions = [
            [(s.code, s.confidence) for s in assessment.mappings[(candidate.candidate_id, i)].suggestions]
            for i in range(len(candidate.work_experience))
        ]
        assessment.results += evaluate_version(candidate, version, predictions or None, noc_titles=noc_titles)
    return assessment


def assess_file(
    path: Path,
    *,
    model,
    versions: Sequence[CategoryVersion],
    default_as_of: dt.date,
    noc_titles: dict[str, str] | None = None,
) -> Assessment:
    candidates, rejects = read_candidates_file(
        path, default_as_of=default_as_of, known_codes=set(noc_titles) if noc_titles else None
    )
    return assess(candidates, rejects, model=model, versions=versions, noc_titles=noc_titles)


TABLES = (
    "candidates.candidates",
    "candidates.work_experience",
    "candidates.languages",
    "candidates.rejects",
    "candidates.noc_suggestions",
    "candidates.category_fit",
)


def table_rows(batch_id: str, assessment: Assessment) -> dict[str, list[dict]]:
    """Rows of every candidates.* table for one batch."""
    now = dt.datetime.now()
    rows: dict[str, list[dict]] = {table: [] for table in TABLES}
    for c in assessment.candidates:
        rows["candidates.candidates"].append(
            {
                "batch_id": batch_id,
                "candidate_id": c.candidate_id,
                "line": c.line,
                "as_of": c.as_of,
                "version_id": assessment.versions.get(c.candidate_id),
                "spells": len(c.work_experience),
                "language_tests": len(c.languages),
                "loaded_at": now,
            }
        )
        for i, s in enumerate(c.work_experience):
            rows["candidates.work_experience"].append(
                {
                    "batch_id": batch_id,
                    "candidate_id": c.candidate_id,
                    "spell_index": i,
                    "title": s.title,
                    "duties": s.duties,
                    "employer": s.employer,
                    "country": s.country,
                    "start_date": s.start,
                    "end_date": s.end,
                    "hours_per_week": s.hours_per_week,
                    "claimed_noc": s.noc_code,
                }
            )
            mapping = assessment.mappings.get((c.candidate_id, i))
            for rank, sug in enumerate(getattr(mapping, "suggestions", []), start=1):
                rows["candidates.noc_suggestions"].append(
                    {
                        "batch_id": batch_id,
                        "candidate_id": c.candidate_id,
                        "spell_index": i,
                        "rank": rank,
                        "code": sug.code,
                        "title": sug.title,
                        "confidence": sug.confidence,
                        "method": sug.method,
                        "ambiguous": mapping.ambiguous,
                        "title_duties_disagree": mapping.title_duties_disagree,
                    }
                )
        for i, t in enumerate(c.languages):
            rows["candidates.languages"].append(
                {
                    "batch_id": batch_id,
                    "candidate_id": c.candidate_id,
                    "test_index": i,
                    "language": t.language,
                    "test": t.test,
                    "test_date": t.test_date,
                    "listening": t.listening,
                    "reading": t.reading,
                    "speaking": t.speaking,
                    "writing": t.writing,
                }
            )
    for r in assessment.rejects:
        rows["candidates.rejects"].append(
            {
                "batch_id": batch_id,
                "line": r.line,
                "candidate_id": r.candidate_id,
                "reason": r.reason,
                "rejected_at": now,
            }
        )
    for result in assessment.results:
        rows["candidates.category_fit"].append({"batch_id": batch_id, **result.to_dict()})
    return rows


@dataclass
class BatchOutcome:
    changed: bool
    rows: dict[str, int]
    candidates: int = 0
    rejects: int = 0
    assessments: int = 0


def batch_fingerprint(
    path: Path, model_fingerprint: str, definitions: str, noc_titles: dict[str, str], today: dt.date
) -> str:
    """What a batch's assessment depends on: the file, the model, the category lists, the NOC
    unit groups (which claimed codes exist, the titles shown) and, only when some record has no
    ``as_of`` of its own, the run date (a file whose records all carry their date is not
    re-assessed every day)."""
    import hashlib
    import json

    from nocfit.sources.fetch import file_sha256

    undated, _ = read_candidates_file(path, default_as_of=dt.date.min)
    parts = [
        file_sha256(path),
        model_fingerprint,
        hashlib.sha256(definitions.encode()).hexdigest(),
        hashlib.sha256(json.dumps(sorted(noc_titles.items())).encode()).hexdigest(),
        today.isoformat() if any(c.as_of == dt.date.min for c in undated) else "dated records",
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def assess_batch_into_warehouse(con, batch: str, path: Path, store, *, force: bool = False) -> BatchOutcome:
    """Assess one batch file into the candidates.* tables, replacing that batch's rows.

    Skipped when the file, the promoted model, the category lists and, if some record has no
    ``as_of`` of its own (it is assessed as of today), the date are all unchanged since the batch
    was last written.
    """
    from nocfit.categories.load import versions_from_warehouse
    from nocfit.ingest.noc_tables import unit_group_titles
    from warehouse.tables import get_fingerprint, insert_rows, set_fingerprint, transaction

    model_meta = store.current_metadata() or {}
    definitions = con.execute(
        "SELECT string_agg(definition, '' ORDER BY version_id) FROM ircc.category_versions"
    ).fetchone()[0]
    today = dt.date.today()
    noc_titles = unit_group_titles(con)
    fingerprint = batch_fingerprint(
        path, str(model_meta.get("fingerprint")), definitions or "", noc_titles, today
    )
    key = f"candidates:{batch}"
    if not force and get_fingerprint(con, key) == fingerprint:
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t} WHERE batch_id = ?", [batch]).fetchone()[0]
            for t in TABLES
        }
        return BatchOutcome(False, counts)
    assessment = assess_file(
        path,
        model=store.load_current(),
        versions=versions_from_warehouse(con),
        default_as_of=today,
        noc_titles=noc_titles,
    )
    rows = table_rows(batch, assessment)
    with transaction(con):  # a re-run replaces the batch: idempotent
        for table in TABLES:
            con.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch])
            insert_rows(con, table, rows[table])
        set_fingerprint(con, key, fingerprint)
    return BatchOutcome(
        True,
        {t: len(rows[t]) for t in TABLES},
        len(assessment.candidates),
        len(assessment.rejects),
        len(assessment.results),
    )
