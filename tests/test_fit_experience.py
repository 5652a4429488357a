"""Full-time-equivalent months: day weights, window, part time, overlaps, continuity."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nocfit.fit.experience import (
    CONTINUITY_GAP_DAYS,
    ExperienceCounter,
    Period,
    Window,
    add_months,
    daily_rate,
    fte_months,
    meets,
    month_weight,
)

D = dt.date.fromisoformat
WIDE = Window.ending(D("2026-06-30"), 36)  # 2023-06-30 < d <= 2026-06-30


def months(*periods: Period, window: Window = WIDE, continuous: bool = False, **kwargs) -> float:
    return fte_months(list(periods), window, continuous=continuous, **kwargs)


def full(start: str, end: str | None, hours: float = 40) -> Period:
    return Period(D(start), D(end) if end else None, hours)


# -- calendar helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "shift", "expected"),
    [
        ("2026-06-01", -36, "2023-06-01"),
        ("2024-05-31", -3, "2024-02-29"),
        ("2025-05-31", -3, "2025-02-28"),
        ("2024-02-29", -12, "2023-02-28"),
        ("2025-01-31", 1, "2025-02-28"),
        ("2023-12-15", 1, "2024-01-15"),
        ("2024-01-15", -1, "2023-12-15"),
        ("2023-05-15", 24, "2025-05-15"),
    ],
)
def test_add_months_clamps_to_month_end(day, shift, expected):
    assert add_months(D(day), shift) == D(expected)


def test_month_weight_handles_leap_years():
    assert month_weight(D("2024-02-29")) == pytest.approx(1 / 29)
    assert month_weight(D("2023-02-10")) == pytest.approx(1 / 28)
    assert month_weight(D("2024-07-31")) == pytest.approx(1 / 31)


def test_window_bounds():
    window = Window.ending(D("2026-06-01"), 36)
    assert window.start == D("2023-06-01") and window.end == D("2026-06-01")
    assert D("2023-06-01") not in window and D("2023-06-02") in window
    assert D("2026-06-01") in window and D("2026-06-02") not in window
    with pytest.raises(ValueError):
        Window.ending(D("2026-06-01"), 0)


#: N calendar months not starting on the 1st count N only up to d * (1/len(last) - 1/len(first)),
#: at most 28 * (1/28 - 1/31) (see the module docstring).
MONTH_LENGTH_SLACK = 28 * (1 / 28 - 1 / 31) + 1e-9


@pytest.mark.parametrize(
    ("as_of", "window_months", "expected"),
    [
        ("2022-04-01", 6, 30 / 31 + 5 + 1 / 30),
        ("2023-02-28", 6, 3 / 31 + 5 + 1.0),  # the largest excess: 6.097
        ("2022-03-28", 6, 2 / 30 + 5 + 28 / 31),
        ("2024-02-15", 12, 13 / 28 + 11 + 15 / 29),  # 12/36-month windows: only leap Februaries
    ],
)
def test_a_full_window_is_its_length_up_to_month_length_slack(as_of, window_months, expected):
    value = months(full("2015-01-01", None), window=Window.ending(D(as_of), window_months))
    assert value == pytest.approx(expected)
    assert abs(value - window_months) <= MONTH_LENGTH_SLACK


def test_six_calendar_months_not_aligned_to_month_starts():
    assert months(full("2024-08-29", "2025-02-28")) == pytest.approx(3 / 31 + 5 + 1)
    assert months(full("2024-09-30", "2025-03-29")) == pytest.approx(1 / 30 + 5 + 29 / 31)
    assert months(full("2024-02-15", "2024-08-14")) == pytest.approx(15 / 29 + 5 + 14 / 31)


def test_a_full_window_is_exactly_its_length():
    window = Window.ending(D("2026-06-01"), 36)
    assert months(full("2020-01-01", None), window=window) == pytest.approx(36.0)
    assert months(full("2020-01-01", None), window=Window.ending(D("2024-02-29"), 12)) == pytest.approx(12.0)


# -- exact months and boundaries --------------------------------------------------------------------------


def test_january_to_june_is_exactly_six_months():
    value = months(full("2024-01-01", "2024-06-30"))
    assert value == pytest.approx(6.0, abs=1e-9)
    assert meets(value, 6)


def test_one_day_less_than_six_months_fails():
    value = months(full("2024-01-01", "2024-06-29"))
    assert value == pytest.approx(5 + 29 / 30)
    assert not meets(value, 6)
    assert not meets(5.99, 6)


def test_exactly_twelve_months_across_a_leap_day():
    value = months(full("2024-02-01", "2025-01-31"))
    assert value == pytest.approx(12.0, abs=1e-9) and meets(value, 12)
    wider = Window.ending(D("2024-12-31"), 36)
    assert months(full("2023-03-01", "2024-02-29"), window=wider) == pytest.approx(12.0, abs=1e-9)


def test_leap_day_is_one_twenty_ninth_of_february():
    assert months(full("2024-02-29", "2024-02-29")) == pytest.approx(1 / 29)
    assert months(full("2024-02-01", "2024-02-29")) == pytest.approx(1.0)
    assert months(
        full("2023-02-01", "2023-02-28"), window=Window.ending(D("2023-12-31"), 12)
    ) == pytest.approx(1.0)
    assert months(full("2024-02-28", "2024-03-01")) == pytest.approx(2 / 29 + 1 / 31)


def test_single_day_spell_counts_one_day():
    assert months(full("2025-04-10", "2025-04-10")) == pytest.approx(1 / 30)


# -- window -------------------------------------------------------------------------------------------------


def test_spell_ending_on_window_start_counts_nothing():
    window = Window.ending(D("2026-06-01"), 36)
    assert months(full("2020-01-01", "2023-06-01"), window=window) == 0.0
    assert months(full("2020-01-01", "2023-06-02"), window=window) == pytest.approx(1 / 30)


def test_spell_before_the_window_counts_nothing():
    assert months(full("2015-01-01", "2019-12-31")) == 0.0


def test_ongoing_spell_counts_up_to_as_of_only():
    window = Window.ending(D("2025-06-30"), 36)
    assert months(full("2025-01-01", None), window=window) == pytest.approx(6.0)
    assert months(full("2025-01-01", "2027-12-31"), window=window) == pytest.approx(6.0)


def test_spell_starting_after_as_of_counts_nothing():
    window = Window.ending(D("2025-06-30"), 36)
    assert months(full("2025-07-01", None), window=window) == 0.0
    assert months(full("2025-06-30", None), window=window) == pytest.approx(1 / 30)


def test_spell_crossing_the_window_start_is_clipped():
    window = Window.ending(D("2026-06-30"), 12)  # 2025-06-30 < d
    assert months(full("2024-01-01", "2025-12-31"), window=window) == pytest.approx(6.0)


# -- part time and overlaps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "rate"), [(30, 1.0), (40, 1.0), (37.5, 1.0), (168, 1.0), (15, 0.5), (20, 2 / 3), (7.5, 0.25)]
)
def test_daily_rate_is_pro_rata_and_capped(hours, rate):
    assert daily_rate(hours) == pytest.approx(rate)


def test_part_time_counts_pro_rata():
    assert months(full("2024-01-01", "2024-12-31", hours=15)) == pytest.approx(6.0)
    assert months(full("2024-01-01", "2024-12-31", hours=20)) == pytest.approx(8.0)


def test_full_time_threshold_can_be_changed():
    assert months(full("2024-01-01", "2024-12-31", hours=30), full_time_hours=37.5) == pytest.approx(9.6)


def test_overlapping_full_time_spells_are_not_double_counted():
    a = full("2024-01-01", "2024-06-30")
    b = full("2024-04-01", "2024-09-30")
    assert months(a, b) == pytest.approx(9.0)
    assert months(a, a) == pytest.approx(6.0)


def test_overlapping_part_time_spells_add_up_to_at_most_full_time():
    a = full("2024-01-01", "2024-12-31", hours=15)
    b = full("2024-01-01", "2024-12-31", hours=15)
    c = full("2024-01-01", "2024-12-31", hours=10)
    assert months(a, b) == pytest.approx(12.0)
    assert months(a, c) == pytest.approx(12 * (25 / 30))
    assert months(a, b, c) == pytest.approx(12.0)
    assert months(full("2024-01-01", "2024-12-31"), a) == pytest.approx(12.0)


def test_partial_overlap_of_part_time_and_full_time():
    full_time = full("2024-01-01", "2024-03-31")  # 3 months
    part_time = full("2024-03-01", "2024-06-30", hours=15)  # March overlaps; April-June at half
    assert months(full_time, part_time) == pytest.approx(3.0 + 1.5)


# -- continuity -----------------------------------------------------------------------------------------------


def test_gap_constant_is_seven_days():
    assert CONTINUITY_GAP_DAYS == 7


@pytest.mark.parametrize(
    ("second_start", "continuous_months"),
    [
        ("2024-02-01", 3.0),  # adjacent, no gap
        ("2024-02-08", 1.0 + 22 / 29 + 1.0),  # 7 days between (Feb 1-7): one stretch
        ("2024-02-09", 1.0 + 21 / 29),  # 8 days between: two stretches, the second is longer
    ],
)
def test_continuity_gap_seven_joins_eight_splits(second_start, continuous_months):
    first = full("2024-01-01", "2024-01-31")
    second = full(second_start, "2024-03-31")
    assert months(first, second, continuous=True) == pytest.approx(continuous_months)
    assert months(first, second, continuous=False) == pytest.approx(1.0 + months(second))


def test_continuity_keeps_the_best_stretch():
    a = full("2024-04-01", "2024-07-31")  # 4 months
    b = full("2024-10-01", "2025-01-31")  # 4 months
    c = full("2025-03-01", "2025-05-31")  # 3 months
    assert months(a, b, c, continuous=True) == pytest.approx(4.0)
    assert months(a, b, c, continuous=False) == pytest.approx(11.0)


def test_best_stretch_is_chosen_by_fte_months_not_length():
    long_part_time = full("2024-01-01", "2024-06-30", hours=15)  # 6 months at half = 3.0
    short_full_time = full("2024-09-01", "2024-12-31")  # 4.0
    assert months(long_part_time, short_full_time, continuous=True) == pytest.approx(4.0)


def test_overlapping_spells_form_one_stretch():
    a = full("2024-01-01", "2024-06-30")
    b = full("2024-03-01", "2024-09-30")
    c = full("2024-10-05", "2024-12-31")  # 4 days after b ends
    assert months(a, b, c, continuous=True) == pytest.approx(12.0 - 4 / 31)


def test_a_spell_nested_inside_another_does_not_end_the_stretch():
    outer = full("2024-01-01", "2024-12-31")
    inner = full("2024-02-01", "2024-02-15")
    later = full("2025-01-05", "2025-03-31")  # 4 days after the outer spell
    assert months(outer, inner, later, continuous=True) == pytest.approx(12.0 + 27 / 31 + 2.0)


def test_only_the_window_part_of_a_stretch_counts():
    window = Window.ending(D("2026-06-01"), 36)
    old = full("2022-01-01", "2023-08-31")  # in window from 2023-06-02
    new = full("2023-09-03", "2023-12-31")
    # June 2-30 (29/30), July, August; 2-day gap; September 3-30 (28/30), October-December.
    assert months(old, new, window=window, continuous=True) == pytest.approx(29 / 30 + 2 + 28 / 30 + 3)


# -- counter --------------------------------------------------------------------------------------------------


def test_counter_counts_subsets_and_caches():
    spells = [full("2024-01-01", "2024-06-30"), full("2024-07-01", "2024-12-31"), full("2026-01-01", None)]
    counter = ExperienceCounter(spells, Window.ending(D("2026-06-30"), 36))
    assert counter.months([0]) == pytest.approx(6.0)
    assert counter.months([0, 1]) == pytest.approx(12.0)
    assert counter.months([1, 0], continuous=True) == pytest.approx(12.0)
    assert counter.months([0, 2], continuous=True) == pytest.approx(6.0)
    assert counter.months([]) == 0.0
    assert counter.stretches([0, 1, 2]) == [(0, 1), (2,)]
    assert counter.in_window(0) and len(counter) == 3
    assert counter.months([0, 1]) is counter.months([1, 0])  # served from the cache


def test_counter_marks_spells_outside_the_window():
    spells = [full("2010-01-01", "2012-12-31"), full("2027-01-01", None)]
    counter = ExperienceCounter(spells, Window.ending(D("2026-06-30"), 36))
    assert not counter.in_window(0) and not counter.in_window(1)


# -- properties -----------------------------------------------------------------------------------------------

_days = st.integers(min_value=0, max_value=2000).map(lambda n: D("2021-01-01") + dt.timedelta(days=n))


@st.composite
def _periods(draw):
    start = draw(_days)
    length = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=900)))
    end = None if length is None else start + dt.timedelta(days=length)
    hours = draw(st.sampled_from([5, 10, 15, 20, 30, 37.5, 60]))
    return Period(start, end, hours)


@settings(max_examples=200, deadline=None)
@given(st.lists(_periods(), max_size=6), _periods(), st.sampled_from([6, 12, 36]), _days)
def test_properties_bounds_monotonicity_and_continuity(periods, extra, window_months, as_of):
    window = Window.ending(as_of, window_months)
    loose = fte_months(periods, window, continuous=False)
    strict = fte_months(periods, window, continuous=True)
    assert 0.0 <= strict <= loose + 1e-9
    assert loose <= window_months + MONTH_LENGTH_SLACK
    more = fte_months([*periods, extra], window, continuous=False)
    assert more >= loose - 1e-9
    assert fte_months([*periods, extra], window, continuous=True) >= strict - 1e-9
    assert fte_months(list(reversed(periods)), window, continuous=True) == pytest.approx(strict)


@settings(max_examples=100, deadline=None)
@given(_days, st.integers(min_value=0, max_value=400), _days)
def test_property_matches_a_day_by_day_count(start, length, as_of):
    spell = Period(start, start + dt.timedelta(days=length), 20)
    window = Window.ending(as_of, 12)
    expected = 0.0
    day = start
    while day <= spell.end:
        if day in window:
            expected += month_weight(day) * (20 / 30)
        day += dt.timedelta(days=1)
    assert fte_months([spell], window, continuous=True) == pytest.approx(expected, abs=1e-9)
