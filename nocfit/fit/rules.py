"""Evaluate one candidate against each category of a category-list version.

Inputs: a validated :class:`~nocfit.fit.candidates.Candidate`, the assessment date ``as_of``,
the categories in force (``CategoryVersion.categories_on(as_of)``) and, for each work spell in
order, the NOC mapper's distribution ``[(code, probability), ...]`` best first (calibrated
top-k; the mass not listed is "some other code"). Output: one :class:`CategoryResult` per
category, with a status (``fit`` / ``no_fit`` / ``not_assessable``), a confidence and short
plain-English reasons.

Occupation categories count full-time-equivalent months per NOC code with the category's
``min_months`` / ``window_months`` / ``continuous`` / ``full_time_hours_per_week`` rules (see
:mod:`nocfit.fit.experience`), only Canadian spells when ``experience_location`` is
``canada_only``, and (``single_occupation``) the months must all be in ONE listed code.

Confidence method (occupation categories). Each spell's NOC code is uncertain, so
``confidence`` = P(some listed code accumulates enough qualifying months), over the joint code
assignment of the spells, each spell taking code ``c`` with the mapper's probability or "other"
with the remaining mass. Spells with the same title, duties and distribution
(:func:`same_reading_groups`) share one draw: the mapper's uncertainty is about the text, so one job cut into several spells is
right or wrong for all of its pieces, and cutting it must not add chances to qualify. Spells with
different texts are treated as independent. Each spell is restricted to
the listed codes that could still qualify (those whose best case - every spell with any mass on
the code assigned to it - meets the rule) plus one "other" bucket. The assignments are then
enumerated exactly when there are at most :data:`ENUMERATION_CAP` of them, else estimated by a
Monte Carlo of :data:`MONTE_CARLO_SAMPLES` draws with the fixed seed :data:`MONTE_CARLO_SEED`
(deterministic, standard error <= 0.0035). A requirement that fails whatever the codes are (not
enough months even if every spell were in the best code, experience abroad for a Canada-only
category, experience outside the window) gives exactly 0.0. ``continuous: unknown`` is
evaluated both ways and the two probabilities are averaged. ``fit`` = confidence >= 0.5.
Confidences are rounded to 4 decimals before ``fit`` is derived.

Language categories are deterministic (confidence 1.0 or 0.0): some test of the language,
dated on or before ``as_of`` and less than ``test_validity_months`` old (``test_date`` +
validity months > ``as_of``), has every listed ability at ``min_level`` or above.

Categories that nocfit cannot assess (``rules.assessable`` false, e.g. skilled military
recruits) are ``not_assessable`` unless the candidate clearly has no experience in the listed
occupations: when ``m`` = P(some spell is in a listed code) = 1 - prod(1 - listed mass of
spell) is below :data:`NEGLIGIBLE_MASS`, the result is ``no_fit``. Its confidence is ``m``, an
upper bound of P(meets the requirements), so ``confidence`` keeps one meaning in every row
(and ``fit == (confidence >= 0.5)``); the reason states 1 - ``m``, the probability of no such
experience.

``qualifying_months`` is the FTE count in ``best_noc`` over the spells whose mapper probability
for that code is at least :data:`PLAUSIBLE_P` (the months the candidate has there if the
plausible readings are right), rounded down to 2 decimals so that a shown 6.0 always passes a
6-month rule. ``best_noc`` is the listed code most likely to qualify (ties: more months).

A claimed ``noc_code`` is flagged (``claimed_noc_mismatch``) when it is not the mapper's top code
and the mapper gives it probability < :data:`MISMATCH_P`; claimed codes never change the
counting (the mapper reads titles and duties, the claim is only checked against it).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from nocfit.categories.model import Category, CategoryVersion, LanguageRule
from nocfit.fit.candidates import Candidate, WorkSpell
from nocfit.fit.experience import (
    FULL_TIME_HOURS_PER_WEEK,
    ExperienceCounter,
    Window,
    add_months,
    daily_rate,
    meets,
)

Status = Literal["fit", "no_fit", "not_assessable"]
NocDistribution = Sequence[tuple[str, float]]

#: A spell counts toward ``qualifying_months`` of a code (and is named in reasons) from this p.
PLAUSIBLE_P = 0.1
#: A claimed code with mapper probability below this (and not the top code) is a mismatch.
MISMATCH_P = 0.2
#: Below this probability of any listed-code experience, a non-assessable category is a clear no-fit.
NEGLIGIBLE_MASS = 0.05
ENUMERATION_CAP = 4096
MONTE_CARLO_SAMPLES = 20_000
MONTE_CARLO_SEED = 20230531
CONFIDENCE_DECIMALS = 4

_LANGUAGE_NAMES = {"fr": "French", "en": "English"}


@dataclass(frozen=True)
class CategoryResult:
    candidate_id: str
    version_id: str
    category_id: str
    category_name: str
    as_of: dt.date
    status: Status
    fit: bool | None  # None when not assessable
    confidence: float | None  # P(meets the requirements); None when not assessable
    qualifying_months: float
    best_noc: str | None
    reasons: tuple[str, ...]
    claimed_noc_mismatch: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (date as ISO string, reasons as a list)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["reasons"] = list(self.reasons)
        return data


def evaluate_version(
    candidate: Candidate,
    version: CategoryVersion,
    predictions: Sequence[NocDistribution] | None,
    *,
    as_of: dt.date | None = None,
    noc_titles: Mapping[str, str] | None = None,
) -> list[CategoryResult]:
    """Evaluate the categories of ``version`` in force on ``as_of`` (default: the candidate's)."""
    day = as_of or candidate.as_of
    return evaluate_candidate(
        candidate,
        version.categories_on(day),
        predictions,
        version_id=version.version_id,
        as_of=day,
        noc_titles=noc_titles,
    )


def evaluate_candidate(
    candidate: Candidate,
    categories: Sequence[Category],
    predictions: Sequence[NocDistribution] | None,
    *,
    version_id: str,
    as_of: dt.date | None = None,
    noc_titles: Mapping[str, str] | None = None,
) -> list[CategoryResult]:
    """One result per category. ``predictions[i]`` is the NOC distribution of work spell ``i``."""
    context = _Context.build(candidate, predictions, as_of or candidate.as_of, noc_titles)
    return [_evaluate(context, category, version_id) for category in categories]


def evaluate_category(
    candidate: Candidate,
    category: Category,
    predictions: Sequence[NocDistribution] | None,
    *,
    version_id: str,
    as_of: dt.date | None = None,
    noc_titles: Mapping[str, str] | None = None,
) -> CategoryResult:
    return evaluate_candidate(
        candidate, [category], predictions, version_id=version_id, as_of=as_of, noc_titles=noc_titles
    )[0]


def claimed_noc_mismatches(candidate: Candidate, predictions: Sequence[NocDistribution] | None) -> list[int]:
    """0-based indexes of spells whose claimed code disagrees with the mapper (see module doc)."""
    context = _Context.build(candidate, predictions, candidate.as_of, None)
    return [i for i, _ in context.mismatches]


# -- per-candidate context ---------------------------------------------------------------------


def _sanitize(distribution: NocDistribution | None) -> dict[str, float]:
    """Code -> probability, best first; bad entries dropped, duplicates merged, mass capped at 1."""
    merged: dict[str, float] = {}
    for entry in distribution or ():
        try:
            code, probability = entry
            p = float(probability)
        except (TypeError, ValueError):
            continue
        if not isinstance(code, str) or not math.isfinite(p) or p <= 0:
            continue
        merged[code] = merged.get(code, 0.0) + p
    total = sum(merged.values())
    if total > 1.0:
        merged = {code: p / total for code, p in merged.items()}
    return dict(sorted(merged.items(), key=lambda item: -item[1]))  # stable: ties keep mapper order


@dataclass
class _Context:
    candidate: Candidate
    as_of: dt.date
    dists: list[dict[str, float]]
    titles: dict[str, str]
    mismatches: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        candidate: Candidate,
        predictions: Sequence[NocDistribution] | None,
        as_of: dt.date,
        noc_titles: Mapping[str, str] | None,
    ) -> _Context:
        spells = candidate.work_experience
        if predictions is None:
            predictions = [()] * len(spells)
        if len(predictions) != len(spells):
            raise ValueError(
                f"candidate {candidate.candidate_id}: {len(predictions)} NOC predictions for {len(spells)} work spells"
            )
        context = cls(candidate, as_of, [_sanitize(p) for p in predictions], dict(noc_titles or {}))
        for i, spell in enumerate(spells):
            dist = context.dists[i]
            if spell.noc_code is None or not dist:
                continue  # nothing to compare with
            top, top_p = next(iter(dist.items()))
            claimed_p = dist.get(spell.noc_code, 0.0)
            if spell.noc_code != top and claimed_p < MISMATCH_P:
                context.mismatches.append(
                    (
                        i,
                        f"Spell {i + 1} claims NOC {context.name(spell.noc_code)}, but its title and duties read as "
                        f"{context.name(top)} (mapper p={top_p:.2f}; claimed code p={claimed_p:.2f})",
                    )
                )
        return context

    def name(self, code: str, extra: Mapping[str, str] | None = None) -> str:
        title = self.titles.get(code) or (extra or {}).get(code)
        return f"{code} {title}" if title else code

    def label(self, i: int) -> str:
        spell: WorkSpell = self.candidate.work_experience[i]
        end = spell.end.isoformat() if spell.end else "ongoing"
        where = "" if spell.country == "CA" else f", {spell.country}"
        title = spell.title.strip() or (f"claimed NOC {spell.noc_code}" if spell.noc_code else "untitled")
        return f"Spell {i + 1} ({_clip(title)}{where}, {spell.start.isoformat()} to {end})"


@dataclass
class _Outcome:
    confidence: float | None  # None: the category cannot be assessed
    qualifying_months: float = 0.0
    best_noc: str | None = None
    reasons: list[str] = field(default_factory=list)


def _evaluate(context: _Context, category: Category, version_id: str) -> CategoryResult:
    rules = category.rules
    titles = {n.code: n.title for n in category.nocs}
    if not rules.assessable:
        outcome = _not_assessable(context, category, titles)
    elif category.kind == "language" or (rules.language is not None and not category.nocs):
        outcome = _language_category(context, rules.language) if rules.language else _unsupported(category)
    elif category.nocs and rules.min_months and rules.window_months:
        outcome = _occupation(context, category, titles)
        if rules.language is not None and outcome.confidence is not None:
            ok, lines = _language_check(context, rules.language)
            outcome.confidence = outcome.confidence if ok else 0.0
            outcome.reasons.extend(lines)
    else:
        outcome = _unsupported(category)

    mismatch_lines = [line for _, line in context.mismatches]
    if outcome.confidence is None:
        status: Status = "not_assessable"
        fit = None
        confidence = None
    else:
        confidence = round(min(1.0, max(0.0, outcome.confidence)), CONFIDENCE_DECIMALS)
        fit = confidence >= 0.5
        status = "fit" if fit else "no_fit"
    return CategoryResult(
        candidate_id=context.candidate.candidate_id,
        version_id=version_id,
        category_id=category.id,
        category_name=category.name,
        as_of=context.as_of,
        status=status,
        fit=fit,
        confidence=confidence,
        qualifying_months=_floor2(outcome.qualifying_months),
        best_noc=outcome.best_noc,
        reasons=tuple(outcome.reasons + mismatch_lines),
        claimed_noc_mismatch=bool(context.mismatches),
    )


def _listed_mass(dist: dict[str, float], listed: Iterable[str]) -> float:
    """The mapper's probability that a spell is in one of the listed codes."""
    return sum(dist.get(c, 0.0) for c in listed)


def _top_listed(dist: dict[str, float], listed: Container[str]) -> tuple[str, float] | None:
    """The most probable listed code of a spell's distribution (ordered best first), if any."""
    return next(((c, p) for c, p in dist.items() if c in listed), None)


def _unsupported(category: Category) -> _Outcome:
    return _Outcome(
        confidence=None,
        reasons=[f"nocfit has no rule to assess the {category.name} category (kind {category.kind})"],
    )


# -- occupation categories ----------------------------------------------------------------------


@dataclass
class _Probability:
    p_fit: float
    per_code: dict[str, float]  # P(this code accumulates enough months)
    plausible_months: dict[str, float]  # months in the code from spells with p >= PLAUSIBLE_P
    total_months: float  # all eligible spells together, whatever their codes
    method: str  # "deterministic" | "exact" | "monte carlo"


def _occupation(context: _Context, category: Category, titles: dict[str, str]) -> _Outcome:
    rules = category.rules
    spells = context.candidate.work_experience
    listed = category.codes()
    as_of = context.as_of
    canada_only = rules.experience_location == "canada_only"
    required = float(rules.min_months or 0)
    if canada_only and rules.canadian_experience_min_months:
        required = max(required, float(rules.canadian_experience_min_months))
    window_months = int(rules.window_months or 0)
    full_time = rules.full_time_hours_per_week or FULL_TIME_HOURS_PER_WEEK
    window = Window.ending(as_of, window_months)
    counter = ExperienceCounter(spells, window, full_time_hours=full_time)
    single = rules.single_occupation is not False

    eligible: list[int] = []
    excluded: dict[int, str] = {}
    for i, spell in enumerate(spells):
        if spell.start > as_of:
            excluded[i] = f"{context.label(i)}: starts after {as_of.isoformat()}, so it counts nothing"
        elif canada_only and spell.country != "CA":
            excluded[i] = f"{context.label(i)}: experience outside Canada does not count for this category"
        elif not counter.in_window(i):
            excluded[i] = (
                f"{context.label(i)}: ended on or before {window.start.isoformat()}, outside the "
                f"{window_months}-month window"
            )
        else:
            eligible.append(i)

    modes = [True, False] if rules.continuous == "unknown" else [bool(rules.continuous)]
    draws = same_reading_groups(spells, context.dists, eligible)
    results = {
        mode: _probability(context.dists, counter, draws, listed, required, continuous=mode, single=single)
        for mode in modes
    }
    confidence = round(sum(r.p_fit for r in results.values()) / len(results), CONFIDENCE_DECIMALS)
    per_code = {c: sum(r.per_code.get(c, 0.0) for r in results.values()) / len(results) for c in listed}
    shown_mode = False if False in results else modes[0]  # lenient count when continuity is unknown
    shown = results[shown_mode]
    ranked = [c for c in listed if per_code[c] > 0 or shown.plausible_months.get(c, 0.0) > 0]
    # Months weighted by the mapper's probability break ties (when no code can qualify every
    # chance is 0), so the occupation named is the likeliest, not the one listed first.
    expected = {c: sum(context.dists[i].get(c, 0.0) * counter.months([i]) for i in eligible) for c in ranked}
    best = max(
        ranked,
        key=lambda c: (round(per_code[c], 9), round(expected[c], 9), shown.plausible_months.get(c, 0.0)),
        default=None,
    )
    months = shown.plausible_months.get(best, 0.0) if best else 0.0

    def name(code: str) -> str:
        return context.name(code, titles)

    rule_text = _rule_text(required, window_months, rules.continuous, canada_only, single)
    unit = "continuous months" if shown_mode is True else "months"
    continuity_decides = len(results) == 2 and (results[True].p_fit >= 0.5) != (results[False].p_fit >= 0.5)
    if best is not None and months > 0:
        best_text = f"best is {_months(months)} {unit} in {name(best)}"
    elif best is not None:
        best_text = f"only a small chance that any experience is in a listed occupation (best: {name(best)})"
    elif not eligible:
        best_text = "no eligible experience" + (" in Canada" if canada_only else "") + " in the window"
    else:
        best_text = "no experience in a listed occupation"
    if confidence >= 0.5:
        summary = f"meets the rule ({rule_text}): {_months(months)} {unit} in {name(best or '')}"
    elif continuity_decides:
        summary = f"needs {rule_text}; {best_text}, but the continuity rule is uncertain (P={confidence:.2f})"
    elif best is not None and meets(months, required) and confidence > 0:
        summary = (
            f"needs {rule_text}; {best_text}, but the occupation match is uncertain (P={confidence:.2f})"
        )
    else:
        summary = f"needs {rule_text}; {best_text}"
    reasons = [summary]

    for i in range(len(spells)):
        reasons.append(
            excluded[i] if i in excluded else _spell_line(context, counter, i, listed, name, full_time)
        )

    if best is not None:
        members = [i for i in eligible if context.dists[i].get(best, 0.0) >= PLAUSIBLE_P]
        if len(members) > 1:
            separate = sum(counter.months([i]) for i in members)
            together = counter.months(members)
            if separate - together > 0.005:
                reasons.append(
                    f"overlapping spells {_join(str(i + 1) for i in members)} in {best} are counted once "
                    f"(at most full time per day): {_months(together)} months, not {_months(separate)}"
                )
            if shown_mode is True and len(counter.stretches(members)) > 1:
                reasons.append(
                    f"the spells in {best} are not continuous (gap of more than "
                    f"{counter.gap_days} days); only the longest stretch counts"
                )

    if len(results) == 2 and best is not None:
        strict, lenient = results[True], results[False]
        strict_months = strict.plausible_months.get(best, 0.0)
        if continuity_decides:
            reasons.append(
                f"the continuity rule is uncertain and decides the outcome: {_months(strict_months)} months if "
                f"the experience must be continuous (P={strict.p_fit:.2f}), {_months(months)} if not "
                f"(P={lenient.p_fit:.2f}); confidence is their average"
            )
        else:
            reasons.append(
                "the continuity rule is uncertain but does not change the outcome "
                f"({_months(strict_months)} continuous months, {_months(months)} in total)"
            )

    uncertain = [i for i in eligible if 0 < _listed_mass(context.dists[i], listed) < 0.98]
    if 0.02 < confidence < 0.98 and uncertain:
        method = " (Monte Carlo estimate)" if any(r.method == "monte carlo" for r in results.values()) else ""
        which = "spell" if len(uncertain) == 1 else "spells"
        reasons.append(
            f"confidence {confidence:.2f}{method} reflects the NOC mapper's uncertainty about "
            f"{which} {_join(str(i + 1) for i in uncertain)}"
        )
    return _Outcome(confidence=confidence, qualifying_months=months, best_noc=best, reasons=reasons)


def same_reading_groups(
    spells: Sequence[WorkSpell], dists: Sequence[dict[str, float]], indexes: Iterable[int]
) -> list[list[int]]:
    """``indexes`` grouped by the spell's title and duties (case and spacing ignored) and NOC
    distribution, in order: the mapper reads only the two texts, so such spells are one reading."""
    groups: dict[tuple[str, str, tuple[tuple[str, float], ...]], list[int]] = {}
    for i in indexes:
        spell = spells[i]
        key = (
            " ".join(spell.title.casefold().split()),
            " ".join(spell.duties.casefold().split()),
            tuple(dists[i].items()),
        )
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _probability(
    dists: list[dict[str, float]],
    counter: ExperienceCounter,
    draws: list[list[int]],
    listed: Sequence[str],
    required: float,
    *,
    continuous: bool,
    single: bool,
) -> _Probability:
    """P(fit) over the code assignments; each group of ``draws`` (eligible spells) takes one code."""
    eligible = sorted(i for group in draws for i in group)
    total = counter.months(eligible, continuous=continuous)
    plausible = {}
    for code in listed:
        members = [i for i in eligible if dists[i].get(code, 0.0) >= PLAUSIBLE_P]
        if members:
            plausible[code] = counter.months(members, continuous=continuous)

    # Codes that could qualify at all: their best case (every spell with mass on them) meets the rule.
    if single:
        viable = [
            code
            for code in listed
            if (support := [i for i in eligible if dists[i].get(code, 0.0) > 0])
            and meets(counter.months(support, continuous=continuous), required)
        ]
    else:
        support = [i for i in eligible if any(dists[i].get(code, 0.0) > 0 for code in listed)]
        pooled_ok = bool(support) and meets(counter.months(support, continuous=continuous), required)
        viable = [code for code in listed if pooled_ok and any(dists[i].get(code, 0.0) > 0 for i in support)]
    if not viable or not meets(total, required):
        return _Probability(0.0, {}, plausible, total, "deterministic")

    # Per draw (spells of one text): its viable codes plus an "other" bucket (None) with the rest.
    fixed: dict[int, str] = {}
    variable: list[tuple[list[int], list[tuple[str | None, float]]]] = []
    for group in draws:
        dist = dists[group[0]]
        options: list[tuple[str | None, float]] = [(c, p) for c in viable if (p := dist.get(c, 0.0)) > 0]
        other = 1.0 - sum(p for _, p in options)
        if other > 1e-12:
            options.append((None, other))
        if len(options) > 1:
            variable.append((group, options))
        elif options and options[0][0] is not None:
            fixed.update(dict.fromkeys(group, options[0][0]))

    group_of = (lambda code: code) if single else (lambda code: "*")
    qualifies_cache: dict[int, bool] = {}

    def qualifying_groups(assignment: dict[int, str]) -> list[str]:
        masks: dict[str, int] = {}
        for i, code in assignment.items():
            key = group_of(code)
            masks[key] = masks.get(key, 0) | (1 << i)
        good = []
        for key, mask in masks.items():
            ok = qualifies_cache.get(mask)
            if ok is None:
                members = [i for i in range(mask.bit_length()) if mask >> i & 1]
                ok = meets(counter.months(members, continuous=continuous), required)
                qualifies_cache[mask] = ok
            if ok:
                good.append(key)
        return good

    per_code: dict[str, float] = dict.fromkeys(viable, 0.0)
    p_fit = 0.0
    count = 1
    for _, options in variable:
        count *= len(options)
        if count > ENUMERATION_CAP:
            break

    def account(assignment: dict[int, str], weight: float) -> float:
        good = qualifying_groups(assignment)
        if single:
            for code in good:
                per_code[code] += weight
        elif good:
            for code in set(assignment.values()):
                per_code[code] += weight
        return weight if good else 0.0

    if count <= ENUMERATION_CAP:
        method = "exact"
        for combo in itertools.product(*(options for _, options in variable)):
            weight = 1.0
            assignment = dict(fixed)
            for (group, _), (code, p) in zip(variable, combo, strict=True):
                weight *= p
                if code is not None:
                    assignment.update(dict.fromkeys(group, code))
            p_fit += account(assignment, weight)
    else:
        method = "monte carlo"
        rng = random.Random(MONTE_CARLO_SEED)
        cumulative = [
            (group, list(itertools.accumulate(p for _, p in options)), [c for c, _ in options])
            for group, options in variable
        ]
        weight = 1.0 / MONTE_CARLO_SAMPLES
        for _ in range(MONTE_CARLO_SAMPLES):
            assignment = dict(fixed)
            for group, bounds, codes in cumulative:
                r = rng.random() * bounds[-1]
                code = codes[min(_bisect(bounds, r), len(codes) - 1)]
                if code is not None:
                    assignment.update(dict.fromkeys(group, code))
            p_fit += account(assignment, weight)
    return _Probability(min(p_fit, 1.0), per_code, plausible, total, method)


def _bisect(bounds: list[float], r: float) -> int:
    lo, hi = 0, len(bounds)
    while lo < hi:
        mid = (lo + hi) // 2
        if bounds[mid] <= r:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _spell_line(
    context: _Context,
    counter: ExperienceCounter,
    i: int,
    listed: Sequence[str],
    name: Any,
    full_time: float,
) -> str:
    spell = context.candidate.work_experience[i]
    dist = context.dists[i]
    months = counter.months([i])
    rate = daily_rate(spell.hours_per_week, full_time)
    part_time = (
        f" at {spell.hours_per_week:g} h/week (counted as {rate:.0%} of full time)" if rate < 1.0 else ""
    )
    top_listed = _top_listed(dist, listed)
    if top_listed and top_listed[1] >= PLAUSIBLE_P:
        code, p = top_listed
        return f"{context.label(i)}: {_months(months)} months{part_time} in {name(code)} (mapper p={p:.2f})"
    if not dist:
        return f"{context.label(i)}: {_months(months)} months{part_time}; no NOC prediction for this spell"
    top, top_p = next(iter(dist.items()))
    return (
        f"{context.label(i)}: {_months(months)} months{part_time}, not in a listed occupation "
        f"(mapper: {name(top)}, p={top_p:.2f})"
    )


def _rule_text(
    required: float, window_months: int, continuous: object, canada_only: bool, single: bool
) -> str:
    kind = " of continuous experience" if continuous is True else ""
    where = "one listed occupation" if single else "listed occupations"
    place = " in Canada" if canada_only else ""
    return f"{required:g} months{kind} in {where} within {window_months} months{place}"


# -- language categories ------------------------------------------------------------------------


def _language_category(context: _Context, rule: LanguageRule) -> _Outcome:
    ok, lines = _language_check(context, rule)
    return _Outcome(confidence=1.0 if ok else 0.0, reasons=lines)


def _language_check(context: _Context, rule: LanguageRule) -> tuple[bool, list[str]]:
    language = _LANGUAGE_NAMES.get(rule.language, rule.language)
    abilities = _join(rule.abilities)
    need = (
        f"{rule.scale} {rule.min_level} or higher in {abilities} on a {language} test less than "
        f"{rule.test_validity_months} months old"
    )
    tests = [t for t in context.candidate.languages if t.language == rule.language]
    if not tests:
        return False, [f"needs {need}; no {language} test result"]
    as_of = context.as_of
    passing: list[str] = []
    failing: list[str] = []
    for test in sorted(tests, key=lambda t: t.test_date, reverse=True):
        label = f"{language} test {_clip(test.test) or '(unnamed)'} of {test.test_date.isoformat()}"
        levels = "/".join(str(test.level(a)) for a in rule.abilities)
        expires = add_months(test.test_date, rule.test_validity_months)
        if test.test_date > as_of:
            failing.append(f"{label}: dated after {as_of.isoformat()}, so it does not count")
        elif expires <= as_of:
            failing.append(
                f"{label}: expired on {expires.isoformat()} (results are valid for {rule.test_validity_months} months)"
            )
        elif low := [a for a in rule.abilities if test.level(a) < rule.min_level]:
            failing.append(
                f"{label}: "
                + ", ".join(f"{a} {rule.scale} {test.level(a)}" for a in low)
                + f" below {rule.scale} {rule.min_level}"
            )
        else:
            last_valid = expires - dt.timedelta(days=1)
            passing.append(
                f"{label}: {rule.scale} {levels} ({'/'.join(rule.abilities)}), valid until {last_valid.isoformat()}"
            )
    if passing:
        return True, [f"meets the {language} requirement ({need})", *passing, *failing]
    return False, [f"needs {need}", *failing]


# -- categories nocfit cannot assess ------------------------------------------------------------


def _not_assessable(context: _Context, category: Category, titles: dict[str, str]) -> _Outcome:
    listed = category.codes()
    spells = context.candidate.work_experience
    per_code = dict.fromkeys(listed, 0.0)
    none_listed = 1.0
    lines: list[str] = []
    for i, spell in enumerate(spells):
        if spell.start > context.as_of:
            continue
        dist = context.dists[i]
        mass = min(1.0, _listed_mass(dist, listed))
        none_listed *= 1.0 - mass
        for c in listed:
            per_code[c] += dist.get(c, 0.0)
        here = _top_listed(dist, listed)
        if here and here[1] >= PLAUSIBLE_P:
            lines.append(
                f"{context.label(i)}: maps to {context.name(here[0], titles)} (mapper p={here[1]:.2f})"
            )
    mass_any = 1.0 - none_listed
    best = max((c for c in listed if per_code[c] > 0), key=lambda c: per_code[c], default=None)
    if mass_any < NEGLIGIBLE_MASS:
        occupations = _join(context.name(c, titles) for c in listed) if listed else "the listed occupations"
        # confidence stays P(meets the requirements), bounded above by P(any listed experience).
        return _Outcome(
            confidence=mass_any,
            best_noc=None,
            reasons=[
                f"no experience in the listed occupations ({occupations}), so the candidate does not fit "
                f"(probability of no such experience: {1.0 - mass_any:.2f})"
            ],
        )
    reason = category.rules.not_assessable_reason or "nocfit cannot assess this category's requirements"
    return _Outcome(confidence=None, best_noc=best, reasons=[reason, *lines])


# -- formatting ---------------------------------------------------------------------------------


def _floor2(months: float) -> float:
    """Round down to 2 decimals (tolerating float noise), so a shown 6.0 always meets 6."""
    return math.floor(months * 100 + 1e-6) / 100


def _months(months: float) -> str:
    text = f"{_floor2(months):.2f}"
    return text[:-1] if text.endswith("0") else text  # 29.00 -> 29.0, 5.99 -> 5.99, 6.50 -> 6.5


def _join(items: Any) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
