"""Cheap-to-expensive signals for a batch of queries, and the candidate features fused from them.

For every query the exact title lookup, the nearest official titles (word TF-IDF), the linear
classifier (on title, on duties, on both) and the duty-by-duty alignment give one score per
unit group. A short list of candidate codes is taken from the top of each signal; only for
those are the costlier RapidFuzz comparisons made. Each (query, candidate) pair becomes one
row of features for the fusion model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mapper.classifier import TextClassifier
from mapper.index import CodeDocuments, DutyIndex, TitleIndex, per_code_max
from mapper.normalize import (
    MAX_TITLE_CHARS,
    PLACEHOLDER_TITLES,
    names_no_occupation,
    normalize_text,
    normalize_title,
    says_no_title,
    split_duties,
    split_roles,
    without_work_term,
)

FEATURES = (
    "clf_all",
    "clf_all_gap",
    "clf_all_rank",
    "clf_title",
    "clf_title_gap",
    "clf_duty",
    "clf_duty_gap",
    "knn",
    "knn_gap",
    "knn_rank",
    "knn_role",
    "word_coverage",
    "head_match",
    "fuzzy_set",
    "fuzzy_ratio",
    "exact",
    "exact_unique",
    "duty_align",
    "duty_align_gap",
    "doc_sim",
    "doc_sim_gap",
    "duty_coverage",
    "has_title",
    "has_duties",
    "n_lines",
    "duty_words",
    "title_tokens",
    "code_titles",
    "cue_manager",
    "cue_supervisor",
    "cue_helper",
    "code_teer",
    "code_is_manager",
    "code_is_supervisor",
    "group_clf_gap",
    "group_knn_gap",
    "group_exact",
    "n_roles",
)
# Words in a title that say where in the hierarchy the job sits (matched to the code's TEER).
MANAGER_CUES = frozenset({"manager", "director", "chief", "head", "president", "executive", "owner"})
SUPERVISOR_CUES = frozenset(
    {"supervisor", "lead", "leader", "foreman", "forewoman", "foreperson", "contractor"}
)
HELPER_CUES = frozenset(
    {"helper", "labourer", "laborer", "aide", "attendant", "trainee", "apprentice", "assistant"}
)
TOP_PER_SIGNAL = {
    "clf_all": 15,
    "clf_title": 8,
    "clf_duty": 8,
    "knn": 12,
    "knn_role": 4,
    "duty_align": 8,
    "doc_sim": 6,
}
_SLASHES = re.compile(r"\s*/\s*")
_BRACKETED = re.compile(r"\(([^()]*)\)")
_N_A = re.compile(r"\bn\s*/\s*a\b", re.IGNORECASE)
#: A main duty counts as covered when an input line is at least this similar to it.
COVERAGE_SIMILARITY = 0.25


@dataclass
class Prepared:
    """A query after normalisation."""

    title: str
    duties: str
    title_norm: str
    roles: list[str]
    duty_lines: list[str]
    duty_norm: str
    #: A word of the title was misspelt and respelt (``TitleIndex.respell``; ``title_norm`` is the result).
    title_respelt: bool = False


def prepare(
    title: str, duties: str, titles: TitleIndex | None = None, duty_index: DutyIndex | None = None
) -> Prepared:
    """Normalise a query. A placeholder or a status is no title, nor a role (``says_no_title``).
    With the title index, commas may separate roles (its role heads), hyphenated words are
    written as NOC writes them, abbreviations are read as official titles read them and
    misspelt title words are respelt (``TitleIndex.read``); with the duty index, duty verbs are
    read in their base form (``DutyIndex.read``)."""
    title = title or ""
    duties = duties or ""
    role_heads = titles.role_heads if titles is not None else frozenset()
    # 'Book-keeper' is NOC's 'bookkeeper' (TitleIndex.join_hyphenated)
    written = titles.join_hyphenated(title) if titles is not None else title
    if not says_no_title(normalize_title(written)):
        written = _without_pieces_naming_no_occupation(written, titles)
    if says_no_title(normalize_title(written)):  # "N/A", "None", "Sr.": the duties decide alone
        written = ""

    def read(text: str) -> tuple[str, str]:  # (as written, as read)
        if titles is None:
            return normalize_title(text), normalize_title(text)
        return titles.read(text)

    roles = [read(r)[1] for r in split_roles(written, role_heads)]
    roles = [r for r in roles if r]
    as_written, title_norm = read(written)  # a reading of an abbreviation is not a respelling
    return Prepared(
        title=title,
        duties=duties,
        title_norm=title_norm,
        roles=roles if len(roles) > 1 else [],
        duty_lines=split_duties(duties),
        duty_norm=duty_index.read(duties) if duty_index is not None else normalize_text(duties),
        title_respelt=title_norm != as_written,
    )


def _job_of(role: str, titles: TitleIndex | None) -> str:
    """A co-op or summer student's role without those words (``normalize.without_work_term``):
    "Landscaper - Summer Student" is a landscaper. If no word left is an official role word (a
    word that ends official titles) or an official title, it names a field of study, not a job:
    "Co-op Engineering Student" is no title (read as 'engineering', it was engineering managers
    at 51%)."""
    rest = without_work_term(role)
    if rest == role or titles is None:
        return rest
    words = set(normalize_title(rest).split())
    return rest if words & titles.role_heads or any(w in titles.exact for w in words) else ""


def _without_pieces_naming_no_occupation(written: str, titles: TitleIndex | None) -> str:
    """The title without the roles ("A / B") that name no occupation, and without a bracketed
    placeholder: "Student / Barista" is a barista, "Volunteer (N/A)" a volunteer (no title); a
    placeholder outside brackets that hold the rest goes too: "N/A (Driver)" is a driver. A
    co-op or summer student's role is its job (``_job_of``): "Co-op Engineering Student /
    Barista" is a barista.

    A status in brackets or after a dash stays: it may say who the job serves ("Adviser
    (International Students)"; "Adviser - International Students" is an official title)."""
    text = written[:MAX_TITLE_CHARS]  # bounded: only this much is read anyway
    if "/" in text:
        text = _N_A.sub("N.A.", text)  # one word, not two roles
    if "(" not in text:
        unbracketed = text
    elif normalize_title(_BRACKETED.sub(" ", text)) in PLACEHOLDER_TITLES:  # "N/A (Driver)"
        unbracketed = " ".join(m.group(1) for m in _BRACKETED.finditer(text))
    else:
        unbracketed = _BRACKETED.sub(
            lambda m: " " if normalize_title(m.group(1)) in PLACEHOLDER_TITLES else m.group(0), text
        )
    jobs = [_job_of(p, titles) for p in _SLASHES.split(unbracketed)]
    kept = [j for j in jobs if j.strip() and not names_no_occupation(normalize_title(j))]
    return written if kept == _SLASHES.split(written[:MAX_TITLE_CHARS]) else " / ".join(kept)


@dataclass
class Parts:
    """Everything trained from the corpus that the signals need."""

    titles: TitleIndex
    duties: DutyIndex
    documents: CodeDocuments
    classifier: TextClassifier
    teer: np.ndarray  # TEER of each code
    is_manager: np.ndarray  # class title names managers
    is_supervisor: np.ndarray  # class title names supervisors or contractors
    #: Minor group (first four digits) of each code, as an index: the right code is often a
    #: sibling of the best-scoring one (65200 servers vs 65201 counter attendants).
    minor_group: np.ndarray

    @property
    def n_codes(self) -> int:
        return len(self.titles.rows_of_code)


@dataclass
class Signals:
    """Per-query, per-code scores (dense arrays, queries x codes)."""

    clf_all: np.ndarray
    clf_title: np.ndarray
    clf_duty: np.ndarray
    knn: np.ndarray
    knn_role: np.ndarray
    exact: list[tuple[int, ...]]
    duty_align: np.ndarray
    doc_sim: np.ndarray
    #: (queries x title rows) word similarities, kept to shortlist titles for RapidFuzz.
    title_sims: object
    #: Per query with duty lines: each main duty's best similarity to any input line.
    duty_best: list[np.ndarray | None] = field(default_factory=list)


def compute_signals(queries: Sequence[Prepared], parts: Parts) -> Signals:
    titles, duties, classifier, n_codes = parts.titles, parts.duties, parts.classifier, parts.n_codes
    n = len(queries)
    title_texts = [q.title_norm for q in queries]
    duty_texts = [q.duty_norm for q in queries]
    both = [f"{t} {d}".strip() for t, d in zip(title_texts, duty_texts, strict=True)]
    clf_all, clf_title, clf_duty = _decisions(classifier, [both, title_texts, duty_texts])
    doc_sim = parts.documents.similarities(both)
    title_sims = titles.similarities(title_texts)
    knn = per_code_max(title_sims, titles.row_code, n_codes)
    knn_role = np.zeros_like(knn)
    role_rows = [(i, r) for i, q in enumerate(queries) for r in q.roles]
    if role_rows:
        role_scores = titles.best_per_code([r for _, r in role_rows], n_codes)
        for (i, _), scores in zip(role_rows, role_scores, strict=True):
            np.maximum(knn_role[i], scores, out=knn_role[i])
    exact = []
    for q in queries:
        hits: set[int] = set(titles.exact.get(q.title_norm, ()))
        for role in q.roles:
            hits.update(titles.exact.get(role, ()))
        exact.append(tuple(sorted(hits)))
    duty_align = np.zeros((n, n_codes), dtype=np.float32)
    duty_best: list[np.ndarray | None] = [None] * n
    line_rows = [(i, line) for i, q in enumerate(queries) for line in q.duty_lines]
    if line_rows:
        sims = duties.line_similarities([line for _, line in line_rows])
        per_line = per_code_max(sims, duties.row_code, n_codes)
        owner = np.asarray([i for i, _ in line_rows])
        for i in np.unique(owner):
            mask = owner == i
            duty_align[i] = per_line[mask].mean(axis=0)
            duty_best[i] = np.asarray(sims[np.flatnonzero(mask)].max(axis=0).todense()).ravel()
    return Signals(
        clf_all, clf_title, clf_duty, knn, knn_role, exact, duty_align, doc_sim, title_sims, duty_best
    )


def _decisions(classifier: TextClassifier, lists: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """Classifier margins for several lists of texts, each distinct text scored once.

    A title-only query has the same text as title and as title + duties (and a duty-only one
    as duties and title + duties), so scoring distinct texts saves about half the work.
    """
    distinct = list(dict.fromkeys(t for texts in lists for t in texts))
    where = {t: k for k, t in enumerate(distinct)}
    scores = classifier.decision(distinct)
    return [scores[[where[t] for t in texts]] for texts in lists]


def candidates(signals: Signals, i: int) -> list[int]:
    """Candidate code indexes for query ``i``: the top of every signal plus exact matches."""
    chosen: dict[int, None] = dict.fromkeys(signals.exact[i])
    for name, k in TOP_PER_SIGNAL.items():
        row = getattr(signals, name)[i]
        if not row.any():
            continue
        for c in np.argpartition(-row, k)[:k]:
            chosen[int(c)] = None
    return list(chosen)


def _gap(row: np.ndarray, values: np.ndarray) -> np.ndarray:
    return values - row.max()


def _group_best(row: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per minor group: its best score minus the best score overall (0 for the leading group)."""
    best = np.full(int(group.max()) + 1, -np.inf, dtype=np.float32)
    np.maximum.at(best, group, row)
    return best - row.max()


def _rank(row: np.ndarray, cands: np.ndarray) -> np.ndarray:
    """1-based rank of each candidate's score within the whole row."""
    return ((row[None, :] > row[cands][:, None]).sum(axis=1) + 1).astype(np.float32)


def candidate_features(
    queries: Sequence[Prepared], signals: Signals, parts: Parts
) -> tuple[list[np.ndarray], np.ndarray]:
    """Candidate code indexes per query and one feature matrix (all candidates stacked)."""
    from rapidfuzz import fuzz, process

    titles, duties = parts.titles, parts.duties
    blocks, cand_lists = [], []
    code_sizes = np.asarray([len(r) for r in titles.rows_of_code], dtype=np.float32)
    for i, q in enumerate(queries):
        cands = np.asarray(candidates(signals, i), dtype=np.int64)
        cand_lists.append(cands)
        m = len(cands)
        f = np.zeros((m, len(FEATURES)), dtype=np.float32)
        col = {name: j for j, name in enumerate(FEATURES)}
        for name in ("clf_all", "clf_title", "clf_duty", "knn", "duty_align", "doc_sim"):
            row = getattr(signals, name)[i]
            f[:, col[name]] = row[cands]
            if f"{name}_gap" in col:
                f[:, col[f"{name}_gap"]] = _gap(row, row[cands])
        f[:, col["clf_all_rank"]] = np.log1p(_rank(signals.clf_all[i], cands))
        f[:, col["knn_rank"]] = np.log1p(_rank(signals.knn[i], cands))
        f[:, col["knn_role"]] = signals.knn_role[i][cands]
        exact = set(signals.exact[i])
        f[:, col["exact"]] = [c in exact for c in cands]
        f[:, col["exact_unique"]] = [c in exact and len(exact) == 1 for c in cands]
        if q.title_norm:
            f[:, col["word_coverage"]] = titles.word_coverage(q.title_norm, cands)
            f[:, col["head_match"]] = titles.head_match(q.title_norm, cands)
            choices, owner = _fuzzy_shortlist(signals.title_sims, i, cands, titles)
            for name, scorer in (("fuzzy_set", fuzz.token_set_ratio), ("fuzzy_ratio", fuzz.ratio)):
                scores = process.cdist([q.title_norm], choices, scorer=scorer, dtype=np.uint8)[0]
                best_fuzzy = np.zeros(m, dtype=np.float32)
                np.maximum.at(best_fuzzy, owner, scores.astype(np.float32) / 100.0)
                f[:, col[name]] = best_fuzzy
        best = signals.duty_best[i]
        if best is not None:
            f[:, col["duty_coverage"]] = [coverage(best, duties, c) for c in cands]
        f[:, col["has_title"]] = bool(q.title_norm)
        f[:, col["has_duties"]] = bool(q.duty_norm)
        f[:, col["n_lines"]] = np.log1p(len(q.duty_lines))
        f[:, col["duty_words"]] = np.log1p(len(q.duty_norm.split()))
        f[:, col["title_tokens"]] = len(q.title_norm.split())
        f[:, col["code_titles"]] = np.log1p(code_sizes[cands])
        words = set(q.title_norm.split())
        f[:, col["cue_manager"]] = bool(words & MANAGER_CUES)
        f[:, col["cue_supervisor"]] = bool(words & SUPERVISOR_CUES)
        f[:, col["cue_helper"]] = bool(words & HELPER_CUES)
        f[:, col["code_teer"]] = parts.teer[cands]
        f[:, col["code_is_manager"]] = parts.is_manager[cands]
        f[:, col["code_is_supervisor"]] = parts.is_supervisor[cands]
        groups = parts.minor_group[cands]
        f[:, col["group_clf_gap"]] = _group_best(signals.clf_all[i], parts.minor_group)[groups]
        f[:, col["group_knn_gap"]] = _group_best(signals.knn[i], parts.minor_group)[groups]
        f[:, col["group_exact"]] = np.isin(groups, parts.minor_group[list(exact)]) if exact else 0.0
        f[:, col["n_roles"]] = len(q.roles)
        blocks.append(f)
    return cand_lists, (np.vstack(blocks) if blocks else np.zeros((0, len(FEATURES)), np.float32))


#: Titles per candidate code compared with RapidFuzz: its closest by word similarity.
FUZZY_TITLES_PER_CODE = 6


def _fuzzy_shortlist(
    title_sims, i: int, cands: np.ndarray, titles: TitleIndex
) -> tuple[list[str], np.ndarray]:
    """Each candidate's most word-similar titles (or its first titles when none share a word)."""
    start, stop = title_sims.indptr[i], title_sims.indptr[i + 1]
    rows, sims = title_sims.indices[start:stop], title_sims.data[start:stop]
    lookup = np.full(len(titles.rows_of_code), -1, dtype=np.int64)
    lookup[cands] = np.arange(len(cands))
    owner = lookup[titles.row_code[rows]]
    keep = owner >= 0
    rows, sims, owner = rows[keep], sims[keep], owner[keep]
    order = np.lexsort((-sims, owner))
    rows, owner = rows[order], owner[order]
    group_start = np.r_[True, owner[1:] != owner[:-1]] if len(owner) else np.zeros(0, bool)
    first_index = np.maximum.accumulate(np.where(group_start, np.arange(len(owner)), 0))
    top = (np.arange(len(owner)) - first_index) < FUZZY_TITLES_PER_CODE
    rows, owner = rows[top], owner[top]
    has_titles = np.zeros(len(cands), dtype=bool)
    has_titles[owner] = True
    missing = np.flatnonzero(~has_titles)  # what np.setdiff1d(arange, owner) gives, 10x faster
    extra_rows = [r for k in missing for r in titles.rows_of_code[int(cands[k])][:FUZZY_TITLES_PER_CODE]]
    extra_owner = [k for k in missing for _ in titles.rows_of_code[int(cands[k])][:FUZZY_TITLES_PER_CODE]]
    all_rows = np.concatenate([rows, np.asarray(extra_rows, dtype=rows.dtype)])
    all_owner = np.concatenate([owner, np.asarray(extra_owner, dtype=np.int64)])
    return [titles.titles[r] for r in all_rows], all_owner


def coverage(duty_best: np.ndarray, duties: DutyIndex, code: int) -> float:
    """Share of the code's main duties that some input line resembles (>= COVERAGE_SIMILARITY)."""
    rows = duties.rows_of_code[code]
    if not len(rows):
        return 0.0
    return float((duty_best[rows] >= COVERAGE_SIMILARITY).mean())
