"""Full-time-equivalent (FTE) months of work experience inside a look-back window.

Semantics:

* **Day weights.** Each day counts ``1 / (days in its calendar month)`` of a month, so a
  full-time spell from 2024-01-01 to 2024-06-30 counts exactly 6.0 months and 29 February
  2024 is simply one of 29 days of its month.
* **Part time.** A spell's daily rate is ``min(hours_per_week / full_time_hours, 1.0)`` with
  ``full_time_hours`` = 30 by default (IRCC: 30 hours a week, 1,560 hours a year); part-time work
  counts pro rata and more than full time counts as full time.
* **Overlaps.** Within the set of spells being counted (e.g. the spells of one NOC code), the
  rates of overlapping spells are summed per day and the sum is capped at 1.0, so two
  concurrent jobs never count more than full time.
* **Window.** ``window_months`` calendar months ending on ``as_of``: the days ``d`` with
  ``window_start < d <= as_of`` where ``window_start`` is ``as_of`` minus ``window_months``
  calendar months (day clamped to the month's length, e.g. 2024-05-31 minus 3 months is
  2024-02-29). A spell ending on ``window_start`` contributes nothing. ``end = None`` means
  ongoing up to ``as_of``; days after ``as_of`` never count (so a spell starting after
  ``as_of`` counts nothing).
* **Continuity.** When a rule requires continuous experience only the single best continuous
  stretch counts. Two spells belong to one stretch when the number of calendar days strictly
  between one's (in-window) end and the next one's start is at most :data:`CONTINUITY_GAP_DAYS`
  (= 7; an assumption: IRCC does not define "continuous" in days, and a week covers a normal
  change of employer or a short unpaid break). Spells ending 2024-01-31 and starting
  2024-02-08 are continuous (7 days between), starting 2024-02-09 is not (8 days). Only the
  parts of spells inside the window are considered. Months are still FTE-weighted within the
  stretch.
* Consequence of day weights for periods that do not start on the 1st: a period of N calendar
  months counts N only when its first and last months have the same length; otherwise it is off
  by ``d * (1/len(last month) - 1/len(first month))`` for end day ``d``, at most
  28 * (1/28 - 1/31) = 0.097 months (about 3 days). E.g. 2024-08-29..2025-02-28 counts 6.097
  and 2024-09-30..2025-03-29 counts 5.97. The same holds for a full window, but a 12- or
  36-month window starts and ends in the same calendar month, so it counts exactly its length
  except around a leap February (2023-02-16..2024-02-15 counts 11.98). This is the
  documented cost of the per-calendar-month weighting (which makes whole calendar months and
  leap days exact); it only decides a case within a few days of the minimum.
* Compare counted months with a rule through :func:`meets`, which allows
  :data:`MONTHS_EPSILON`, so exactly 6.0 months passes a 6-month rule despite float sums.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")

FULL_TIME_HOURS_PER_WEEK = 30.0
CONTINUITY_GAP_DAYS = 7
MONTHS_EPSILON = 1e-6


class SpellLike(Protocol):
    """Anything with the three fields experience counting needs (e.g. ``WorkSpell``)."""

    @property
    def start(self) -> dt.date: ...

    @property
    def end(self) -> dt.date | None: ...

    @property
    def hours_per_week(self) -> float: ...


@dataclass(frozen=True)
class Period:
    """A minimal spell, handy in tests and callers without a full ``WorkSpell``."""

    start: dt.date
    end: dt.date | None
    hours_per_week: float = FULL_TIME_HOURS_PER_WEEK


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` shifted by whole calendar months (negative = back), clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def month_weight(day: dt.date) -> float:
    """The fraction of a month one day is worth: 1 / days in its calendar month."""
    return 1.0 / calendar.monthrange(day.year, day.month)[1]


def meets(months: float, required: float) -> bool:
    return months >= required - MONTHS_EPSILON


@dataclass(frozen=True)
class Window:
    """The days ``start < d <= end`` (``end`` is the assessment date, ``as_of``)."""

    start: dt.date  # exclusive
    end: dt.date  # inclusive

    @classmethod
    def ending(cls, as_of: dt.date, months: int) -> Window:
        if months < 1:
            raise ValueError("a window needs at least one month")
        return cls(start=add_months(as_of, -months), end=as_of)

    @property
    def first_day(self) -> dt.date:
        return self.start + dt.timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start < day <= self.end


def daily_rate(hours_per_week: float, full_time_hours: float = FULL_TIME_HOURS_PER_WEEK) -> float:
    if full_time_hours <= 0:
        raise ValueError("full_time_hours must be positive")
    return max(0.0, min(hours_per_week / full_time_hours, 1.0))


@functools.lru_cache(maxsize=64)
def _weight_prefix(first_day: dt.date, n_days: int) -> tuple[float, ...]:
    """Running sums of :func:`month_weight` over ``n_days`` days from ``first_day`` (prefix[0] = 0).

    Cached: every category of every candidate assessed on the same date shares its window.
    """
    prefix = [0.0]
    day = first_day
    for _ in range(n_days):
        prefix.append(prefix[-1] + month_weight(day))
        day += dt.timedelta(days=1)
    return tuple(prefix)


def _continuous_groups(items: Iterable[tuple[int, int, T]], gap_days: int) -> list[list[T]]:
    """Group (first, last, payload) day ranges, in the order given, into continuous stretches."""
    groups: list[list[T]] = []
    end = None
    for first, last, payload in items:
        if end is not None and first - end - 1 <= gap_days:
            groups[-1].append(payload)
            end = max(end, last)
        else:
            groups.append([payload])
            end = last
    return groups


class ExperienceCounter:
    """Counts FTE months for any subset of a fixed list of spells in one window.

    The spells are clipped to the window once; :meth:`months` then works on day indexes with
    prefix sums of the day weights and caches results per subset, which keeps repeated counting
    (one subset per NOC code and code assignment, see :mod:`nocfit.fit.rules`) cheap.
    """

    def __init__(
        self,
        spells: Sequence[SpellLike],
        window: Window,
        *,
        full_time_hours: float = FULL_TIME_HOURS_PER_WEEK,
        gap_days: int = CONTINUITY_GAP_DAYS,
    ) -> None:
        self.window = window
        self.gap_days = gap_days
        self._prefix = _weight_prefix(window.first_day, (window.end - window.start).days)
        # (first day index, last day index, rate), both indexes inclusive; None = no day in window.
        self._clipped: list[tuple[int, int, float] | None] = []
        for spell in spells:
            first = max(spell.start, window.first_day)
            last = min(spell.end or window.end, window.end)
            if first > last:
                self._clipped.append(None)
                continue
            rate = daily_rate(spell.hours_per_week, full_time_hours)
            self._clipped.append(
                ((first - window.first_day).days, (last - window.first_day).days, rate) if rate > 0 else None
            )
        self._cache: dict[tuple[frozenset[int], bool], float] = {}

    def __len__(self) -> int:
        return len(self._clipped)

    def in_window(self, index: int) -> bool:
        """True when spell ``index`` has at least one counted day in the window."""
        return self._clipped[index] is not None

    def months(self, indexes: Iterable[int], *, continuous: bool = False) -> float:
        """FTE months of the spells ``indexes`` (overlaps capped; best stretch if continuous)."""
        key = (frozenset(indexes), bool(continuous))
        cached = self._cache.get(key)
        if cached is None:
            parts = [p for i in sorted(key[0]) if (p := self._clipped[i]) is not None]
            if continuous:
                stretches = _continuous_groups(((p[0], p[1], p) for p in sorted(parts)), self.gap_days)
                cached = max((self._sum(stretch) for stretch in stretches), default=0.0)
            else:
                cached = self._sum(parts)
            self._cache[key] = cached
        return cached

    def stretches(self, indexes: Iterable[int]) -> list[tuple[int, ...]]:
        """Groups of spell indexes that form continuous stretches (in-window spells only)."""
        items = sorted((p[0], p[1], i) for i in indexes if (p := self._clipped[i]) is not None)
        return [tuple(g) for g in _continuous_groups(items, self.gap_days)]

    def _sum(self, parts: list[tuple[int, int, float]]) -> float:
        """Sweep over day-index boundaries: per segment, min(1, summed rate) x weight of its days."""
        if not parts:
            return 0.0
        if len(parts) == 1:
            first, last, rate = parts[0]
            return rate * (self._prefix[last + 1] - self._prefix[first])
        events: dict[int, float] = {}
        for first, last, rate in parts:
            events[first] = events.get(first, 0.0) + rate
            events[last + 1] = events.get(last + 1, 0.0) - rate
        bounds = sorted(events)
        total = 0.0
        level = 0.0
        for here, following in zip(bounds, bounds[1:], strict=False):
            level += events[here]
            if level > 1e-12:
                total += min(level, 1.0) * (self._prefix[following] - self._prefix[here])
        return total


def fte_months(
    spells: Sequence[SpellLike],
    window: Window,
    *,
    continuous: bool,
    full_time_hours: float = FULL_TIME_HOURS_PER_WEEK,
    gap_days: int = CONTINUITY_GAP_DAYS,
) -> float:
    """FTE months of ``spells`` (all counted together, overlaps capped) within ``window``."""
    counter = ExperienceCounter(spells, window, full_time_hours=full_time_hours, gap_days=gap_days)
    return counter.months(range(len(spells)), continuous=continuous)
