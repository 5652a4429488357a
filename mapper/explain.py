"""Evidence for one suggested code: closest official titles and a duty-by-duty alignment."""

from __future__ import annotations

import numpy as np

from mapper.index import DutyIndex, TitleIndex
from mapper.normalize import MAX_DUTY_LINES
from mapper.results import DutyAlignment, Evidence, TitleMatch

MAX_TITLES = 3
#: Every duty line the query was read as (the same lines as the coverage and the signals).
MAX_ALIGNED_LINES = MAX_DUTY_LINES


def aligned_line_similarities(q, duties: DutyIndex) -> np.ndarray | None:
    """(aligned input lines x all main duties) cosine similarities, computed once per query."""
    lines = q.duty_lines[:MAX_ALIGNED_LINES]
    return duties.line_similarities(lines).toarray() if lines else None


def explain(
    q,
    code: int,
    titles: TitleIndex,
    duties: DutyIndex,
    duty_best: np.ndarray | None,
    line_sims: np.ndarray | None,
) -> Evidence:
    """Evidence for code index ``code`` given a prepared query ``q`` (mapper.signals.Prepared)
    and its :func:`aligned_line_similarities`."""
    from rapidfuzz import fuzz, process

    from mapper.signals import coverage

    evidence = Evidence()
    if q.title_norm:
        rows = titles.rows_of_code[code]
        if len(rows):
            choices = [titles.titles[r] for r in rows]
            scores = process.cdist([q.title_norm], choices, scorer=fuzz.token_set_ratio)[0]
            # token_set_ratio gives 100 to any title that holds the query's words; among those,
            # the closest whole title (the exact one, when there is one) comes first.
            closeness = process.cdist([q.title_norm], choices, scorer=fuzz.ratio)[0]
            for k in np.lexsort((-closeness, -scores))[:MAX_TITLES]:
                evidence.matched_titles.append(
                    TitleMatch(titles.display[rows[k]], round(float(scores[k]) / 100, 3))
                )
    lines = q.duty_lines[:MAX_ALIGNED_LINES]
    rows = duties.rows_of_code[code]
    if line_sims is not None and len(rows):
        for line, row in zip(lines, line_sims[:, rows], strict=True):
            k = int(np.argmax(row))
            best = float(row[k])
            evidence.duty_alignment.append(
                DutyAlignment(line, duties.duties[rows[k]] if best > 0 else None, round(best, 3))
            )
        if duty_best is not None:
            evidence.duty_coverage = round(coverage(duty_best, duties, code), 3)
    return evidence
