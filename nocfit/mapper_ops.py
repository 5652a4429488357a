"""Train, evaluate, gate and promote the mapper model (plain Python; Dagster assets wrap these).

A refresh trains a *candidate* only when the official data or the mapper code changed; the
candidate and the currently promoted model are evaluated on the same labelled set and recorded
in ``mapper.evaluations`` (and item by item in ``mapper.evaluation_items``); the candidate is
promoted only if it is not worse (the gate).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from nocfit import config
from nocfit.ingest.checks import CheckOutcome
from nocfit.model_store import ModelStore, model_fingerprint
from nocfit.sources.catalog import spec
from nocfit.sources.fetch import SourceFolder, file_sha256
from warehouse.tables import insert_rows, transaction

#: A candidate may trail the promoted model by at most this much: retraining the same code with
#: seeds 0-4 moves dev top-1 (0.615-0.660) and top-5 (0.820-0.865) by up to 0.045
#: (benchmarks/mapper_seed_spread.py --seeds 0 1 2 3 4), so a smaller tolerance would refuse
#: unchanged models by chance.
GATE_TOLERANCE = 0.045
#: ... and, item by item, must not lose significantly more labelled items than it gains
#: (one-sided sign test below this p-value), which catches a real loss inside the tolerance.
GATE_SIGNIFICANCE = 0.05
HELD_OUT = "held_out_official"


@dataclass
class TrainedCandidate:
    path: Path
    fingerprint: str
    metadata: dict


def train_candidate(
    con: duckdb.DuckDBPyConnection,
    store: ModelStore,
    run_id: str,
    *,
    force: bool = False,
    labelled_set: Path | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> TrainedCandidate | None:
    """Train a candidate from the warehouse, or None when the promoted model is up to date (or
    the gate already refused this candidate against it, on the same ``labelled_set``)."""
    from mapper.corpus import NocCorpus
    from mapper.train import train

    corpus = NocCorpus.from_duckdb(con)
    fingerprint = model_fingerprint(corpus.source_fingerprint)
    current = store.current_metadata()
    if not force and current and current.get("fingerprint") == fingerprint:
        log(f"the promoted model {fingerprint} was trained on the same data and code: not retraining")
        return None
    dataset_sha = file_sha256(labelled_set) if labelled_set else None
    kept_back = None if force or not current else _kept_back_run(con, fingerprint, current, dataset_sha)
    if kept_back is not None:
        # Training is deterministic: the same data and code give the same model, which the gate
        # would refuse again (same promoted model, same labelled set) after three minutes, on
        # every scheduled refresh.
        log(
            f"a model trained on the same data and code ({fingerprint}) was kept back by run "
            f"{kept_back[0]} on {kept_back[1]:%Y-%m-%d %H:%M} against the current model: not "
            "retraining (`nocfit refresh --retrain` tries again)"
        )
        return None
    log(
        "training a new model: "
        + (
            "forced"
            if force
            else f"promoted {current.get('fingerprint')} != {fingerprint}"
            if current
            else "none promoted yet"
        )
    )
    model = train(corpus, log=log)
    model.metadata["fingerprint"] = fingerprint
    model.metadata["run_id"] = run_id
    path = store.save_candidate(model, run_id)
    return TrainedCandidate(path, fingerprint, model.metadata)


def _kept_back_run(
    con: duckdb.DuckDBPyConnection, fingerprint: str, current: dict, dataset_sha: str | None
) -> tuple[str, dt.datetime] | None:
    """The latest published run that evaluated a candidate with this fingerprint against the
    current promoted model, on the same labelled set, and did not promote it (the gate refused
    it), if any. A new promoted model or labelled set deserves a new try."""
    return con.execute(
        "SELECT c.run_id, max(c.evaluated_at) FROM mapper.evaluations c "
        "JOIN mapper.evaluations p ON p.run_id = c.run_id AND p.model_role = 'promoted' "
        "WHERE c.model_role = 'candidate' AND c.model_fingerprint = ? AND p.model_fingerprint = ? "
        "AND c.dataset_sha256 IS NOT DISTINCT FROM ? "
        "AND c.run_id NOT IN (SELECT run_id FROM mapper.promotions) "
        "GROUP BY c.run_id ORDER BY 2 DESC LIMIT 1",
        [fingerprint, current.get("fingerprint"), dataset_sha],
    ).fetchone()


def labelled_set(folder: SourceFolder) -> Path | None:
    """NOCFIT_EVAL_SET, else bench/noc_dev.jsonl in the sources folder, else None (held-out metrics)."""
    found = config.eval_set_path()
    if found is None and (optional := folder.fetch_optional(spec("bench_dev"))) is not None:
        found = optional.path
    return found


def evaluate_models(
    con: duckdb.DuckDBPyConnection,
    store: ModelStore,
    candidate: Path,
    run_id: str,
    labelled_set: Path | None,
) -> list[dict]:
    """Evaluate the candidate and the promoted model on the same data; append to mapper.evaluations.

    With a labelled set (the dev-set shape) both are mapped and scored; without one, the
    held-out official metrics recorded at training time are used.
    """
    from mapper.evaluate import rank_items, read_labelled, score, true_rank
    from mapper.model import MapperModel, ModelError

    now = dt.datetime.now()
    rows: list[dict] = []
    item_rows: list[dict] = []
    loaded = {"candidate": MapperModel.load(candidate)}
    if store.current_path.exists():
        # A model from an older nocfit cannot be loaded: there is nothing comparable to gate on.
        with contextlib.suppress(ModelError):
            loaded["promoted"] = MapperModel.load(store.current_path)
    items = read_labelled(labelled_set) if labelled_set else []
    dataset = labelled_set.name if labelled_set else HELD_OUT
    dataset_sha = file_sha256(labelled_set) if labelled_set else None
    for role, model in loaded.items():
        base = {
            "run_id": run_id,
            "model_role": role,
            "model_fingerprint": model.metadata.get("fingerprint"),
            "trained_at": model.metadata.get("trained_at"),
            "dataset": dataset,
            "dataset_sha256": dataset_sha,
            "evaluated_at": now,
        }
        if items:
            rankings, confidences = rank_items(model, items)
            result = score(rankings, confidences, items)
            item_rows += [
                {
                    "run_id": run_id,
                    "model_role": role,
                    "position": position,
                    "item_id": item.id,
                    "source": item.source,
                    "true_code": item.code,
                    "top_code": ranking[0] if ranking else None,
                    "confidence": confidence if ranking else None,
                    "true_rank": true_rank(ranking, item),
                }
                for position, (item, ranking, confidence) in enumerate(
                    zip(items, rankings, confidences, strict=True), start=1
                )
            ]
            rows.append({**base, "source": "all", **_metrics(result.as_dict())})
            for source, numbers in result.per_source.items():
                rows.append({**base, "source": source, **numbers, "ece": None, "mean_confidence": None})
        else:
            held = model.metadata.get("held_out", {})
            rows.append(
                {
                    **base,
                    "source": "all",
                    "items": held.get("queries"),
                    "top1": held.get("top1"),
                    "top5": held.get("top5"),
                    "ece": held.get("ece"),
                    "mean_confidence": None,
                }
            )
    with transaction(con):
        insert_rows(con, "mapper.evaluations", rows)
        insert_rows(con, "mapper.evaluation_items", item_rows)
    return rows


def _metrics(numbers: dict) -> dict:
    return {k: numbers.get(k) for k in ("items", "top1", "top5", "ece", "mean_confidence")}


def gate(con: duckdb.DuckDBPyConnection, run_id: str) -> CheckOutcome:
    """Pass when there is no promoted model, or the candidate is not worse on top-1 and top-5:
    neither more than ``GATE_TOLERANCE`` below the promoted model, nor (where both models ranked
    the same labelled items) significantly more items lost than gained."""
    rows = con.execute(
        "SELECT model_role, top1, top5, ece, dataset FROM mapper.evaluations "
        "WHERE run_id = ? AND source = 'all'",
        [run_id],
    ).fetchall()
    by_role = {r[0]: r for r in rows}
    if "candidate" not in by_role:
        return CheckOutcome(False, f"no evaluation of the candidate of run {run_id}")
    cand = by_role["candidate"]
    meta = {
        "dataset": cand[4],
        "candidate_top1": cand[1],
        "candidate_top5": cand[2],
        "candidate_ece": cand[3],
    }
    if "promoted" not in by_role:
        return CheckOutcome(True, "no promoted model yet: the first candidate is promoted", meta)
    prom = by_role["promoted"]
    meta |= {"promoted_top1": prom[1], "promoted_top5": prom[2], "promoted_ece": prom[3]}
    worse = [
        f"{name} {c:.3f} < {p:.3f}"
        for name, c, p in (("top-1", cand[1], prom[1]), ("top-5", cand[2], prom[2]))
        if c is not None and p is not None and c < p - GATE_TOLERANCE
    ]
    changes = []
    for name, (lost, gained, p_value) in _item_changes(con, run_id).items():
        key = name.replace("-", "")
        meta |= {f"{key}_items_lost": lost, f"{key}_items_gained": gained}
        change = f"{name} lost {lost} items and gained {gained} (sign test p={p_value:.3f})"
        changes.append(change)
        if lost > gained and p_value < GATE_SIGNIFICANCE:
            worse.append(change)
    if worse:
        return CheckOutcome(False, "candidate is worse than the promoted model: " + "; ".join(worse), meta)
    return CheckOutcome(
        True,
        f"candidate top-1 {_num(cand[1])} / top-5 {_num(cand[2])} not worse than promoted "
        f"{_num(prom[1])} / {_num(prom[2])}" + (f": {'; '.join(changes)}" if changes else ""),
        meta,
    )


def _item_changes(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, tuple[int, int, float]]:
    """Per metric, the labelled items the candidate lost and gained against the promoted model,
    with the sign test's p-value; empty when the two were not evaluated item by item."""
    from mapper.evaluate import sign_test_p

    row = con.execute(
        """
        WITH hits AS (
            SELECT model_role, position,
                   coalesce(true_rank = 1, false) AS hit1, coalesce(true_rank <= 5, false) AS hit5
            FROM mapper.evaluation_items WHERE run_id = ?
        )
        SELECT count(*),
               count(*) FILTER (p.hit1 AND NOT c.hit1), count(*) FILTER (c.hit1 AND NOT p.hit1),
               count(*) FILTER (p.hit5 AND NOT c.hit5), count(*) FILTER (c.hit5 AND NOT p.hit5)
        FROM hits c JOIN hits p USING (position)
        WHERE c.model_role = 'candidate' AND p.model_role = 'promoted'
        """,
        [run_id],
    ).fetchone()
    if not row[0]:
        return {}
    return {
        "top-1": (row[1], row[2], sign_test_p(row[1], row[2])),
        "top-5": (row[3], row[4], sign_test_p(row[3], row[4])),
    }


def _num(value: float | None) -> str:
    """A metric for a message; models trained by older versions may not have recorded it."""
    return "n/a" if value is None else f"{value:.3f}"


def record_promotion(con: duckdb.DuckDBPyConnection, store: ModelStore, candidate: Path, run_id: str) -> Path:
    """Record in mapper.promotions that the candidate becomes current (``store.promote`` does it,
    once the snapshot holding this record is published); returns the current model's path."""
    path = store.current_path
    meta = store.metadata_of(candidate) or {}  # the JSON beside the model: no need to unpickle it
    with transaction(con):
        insert_rows(
            con,
            "mapper.promotions",
            [
                {
                    "run_id": run_id,
                    "model_fingerprint": meta.get("fingerprint"),
                    "trained_at": meta.get("trained_at"),
                    "promoted_at": dt.datetime.now(),
                    "training_seconds": meta.get("training_seconds"),
                    "noc_version": meta.get("noc_version"),
                    "path": str(path),
                }
            ],
        )
    return path
