"""Accuracy and calibration of a mapper on a labelled set (JSON Lines of the dev-set shape).

Each item has ``title`` and/or ``duties_text`` (or ``duties``), the true ``noc2021_code`` and
optionally a ``source`` for per-source accuracy.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mapper.calibrate import expected_calibration_error


@dataclass(frozen=True)
class LabelledItem:
    id: str
    title: str
    duties: str
    code: str
    source: str


@dataclass
class Evaluation:
    items: int
    top1: float
    top5: float
    ece: float
    mean_confidence: float
    per_source: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "items": self.items,
            "top1": round(self.top1, 4),
            "top5": round(self.top5, 4),
            "ece": round(self.ece, 4),
            "mean_confidence": round(self.mean_confidence, 4),
            "per_source": self.per_source,
        }


def read_labelled(path: Path) -> list[LabelledItem]:
    """Labelled items from a JSON Lines file; a malformed line raises ValueError naming it."""
    items = []
    with Path(path).open(encoding="utf-8-sig") as handle:  # a BOM is no part of line 1
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                code = str(row["noc2021_code"]).strip()
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}, line {number}: not a labelled item ({exc})") from None
            if not (len(code) == 5 and code.isdigit()):
                raise ValueError(f"{path}, line {number}: noc2021_code {code!r} is not a five-digit code")
            items.append(
                LabelledItem(
                    id=str(row.get("id", number)),
                    title=str(row.get("title") or ""),
                    duties=str(row.get("duties_text") or row.get("duties") or ""),
                    code=code,
                    source=str(row.get("source") or "all"),
                )
            )
    return items


def top1_hits(rankings: Iterable[list[str]], items: list[LabelledItem]) -> list[bool]:
    """For each item: is its labelled code the first of its ranking?"""
    return [r[:1] == [i.code] for r, i in zip(rankings, items, strict=True)]


def score(
    rankings: Iterable[list[str]], confidences: Iterable[float], items: list[LabelledItem]
) -> Evaluation:
    """Metrics from each item's ranked codes and top-1 confidence."""
    rankings, confidences = list(rankings), np.asarray(list(confidences), dtype=float)
    hit1 = np.asarray(top1_hits(rankings, items), dtype=float)
    hit5 = np.asarray([i.code in r[:5] for r, i in zip(rankings, items, strict=True)], dtype=float)
    groups: dict[str, list[int]] = defaultdict(list)
    for k, item in enumerate(items):
        groups[item.source].append(k)
    per_source = {
        source: {
            "items": len(ks),
            "top1": round(float(hit1[ks].mean()), 4),
            "top5": round(float(hit5[ks].mean()), 4),
        }
        for source, ks in sorted(groups.items())
    }
    return Evaluation(
        items=len(items),
        top1=float(hit1.mean()) if len(items) else 0.0,
        top5=float(hit5.mean()) if len(items) else 0.0,
        ece=expected_calibration_error(confidences, hit1),
        mean_confidence=float(confidences.mean()) if len(items) else 0.0,
        per_source=per_source,
    )


def rank_items(
    model, items: list[LabelledItem], *, batch_size: int = 512
) -> tuple[list[list[str]], list[float]]:
    """Map every item with ``model`` (a MapperModel): its ranked codes and top-1 confidence."""
    rankings, confidences = [], []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        for mapping in model.map_batch([(i.title, i.duties) for i in chunk], evidence=False):
            rankings.append([s.code for s in mapping.suggestions])
            confidences.append(mapping.suggestions[0].confidence if mapping.suggestions else 0.0)
    return rankings, confidences


def true_rank(ranking: list[str], item: LabelledItem) -> int | None:
    """1-based rank of the item's true code among the suggestions, None when absent."""
    return ranking.index(item.code) + 1 if item.code in ranking else None


#: Why a labelled code can be missed, judged from the official titles alone (``miss_kind``).
MISS_KINDS = {
    "not_a_unit_group": "the label is no NOC 2021 unit group",
    "official_title_elsewhere": "the title, as the mapper reads it, is verbatim an official title "
    "of other unit groups only",
    "no_word_in_label_titles": "no word of the title is in any official title of the labelled unit group",
    "no_title": "no title (duties only)",
    "other": "official titles of the labelled unit group share a word with the title: a ranking "
    "error, or a choice between neighbouring unit groups",
}


def miss_kind(model, item: LabelledItem) -> str:
    """A key of MISS_KINDS for an item whose code ``model`` (a MapperModel) did not suggest.

    "official_title_elsewhere" and "no_word_in_label_titles" are disagreements between the
    label and the official titles, which no mapper that trusts the official index can settle by
    the title (an item's duties may still); "other" and "no_title" are where a better ranking
    could win.
    """
    from mapper.signals import prepare

    if item.code not in model.codes:
        return "not_a_unit_group"
    titles = model.parts.titles
    query = prepare(item.title, item.duties, titles, model.parts.duties)
    if not query.title_norm:
        return "no_title"
    label = model.codes.index(item.code)
    exact = titles.exact.get(query.title_norm, ())
    if exact and label not in exact:
        return "official_title_elsewhere"
    if not set(query.title_norm.split()) & titles.code_vocab[label]:
        return "no_word_in_label_titles"
    return "other"


def gains_and_losses(new: Iterable[bool], old: Iterable[bool]) -> tuple[int, int]:
    """Items one model hits and another misses, each way: (gained by ``new``, lost by it)."""
    pairs = list(zip(new, old, strict=True))
    return sum(n and not o for n, o in pairs), sum(o and not n for n, o in pairs)


def sign_test_p(losses: int, gains: int) -> float:
    """One-sided exact sign test: the chance of at least ``losses`` of the ``losses + gains``
    changed items going one way if each change were a coin flip. Small when a model lost
    clearly more items than it gained against another on the same labelled set."""
    n = losses + gains
    return sum(math.comb(n, k) for k in range(losses, n + 1)) / 2**n if n else 1.0


def evaluate(model, items: list[LabelledItem], *, batch_size: int = 512) -> Evaluation:
    """Map every item with ``model`` (a MapperModel) and score the results."""
    return score(*rank_items(model, items, batch_size=batch_size), items)
