"""A child's age, chronological and corrected (DESIGN.md: Age), as a home visitor reads it on the
tablet: month ends, leap days, babies born early by a few weeks or by months, and the second
birthday, after which corrected age no longer counts. Every expected value is worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from hvcase.screenings.ages import (
    Age,
    add_months,
    age_on,
    corrected_age,
    due_date,
    screening_age,
    weeks_early,
)

# --- Writing an age -----------------------------------------------------------------------


def test_an_age_reads_and_writes_as_months_and_days():
    assert Age.parse("23m0d") == Age(23, 0)
    assert Age.parse("8m30d") == Age(8, 30)
    assert str(Age(23, 0)) == "23m0d"
    assert str(Age(25, 15)) == "25m15d"


@pytest.mark.parametrize("text", ["23m", "m0d", "23m0d ", "23 m 0 d", "-1m0d", "23d0m", ""])
def test_an_age_not_written_as_months_and_days_is_refused(text):
    with pytest.raises(ValueError):
        Age.parse(text)


def test_ages_are_ordered_by_months_then_days():
    assert Age(8, 30) < Age(9, 0)
    assert Age(23, 30) < Age(24, 0)
    assert Age(9, 0) <= Age(9, 0) < Age(9, 1)
    assert sorted([Age(9, 0), Age(8, 30), Age(8, 0)]) == [Age(8, 0), Age(8, 30), Age(9, 0)]


# --- Calendar months ------------------------------------------------------------------------


def test_a_month_after_january_31_is_the_last_day_of_february():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)  # 2025 is not a leap year
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)  # 2024 is


def test_months_carry_over_the_year():
    assert add_months(date(2024, 12, 15), 2) == date(2025, 2, 15)
    assert add_months(date(2023, 1, 31), 24) == date(2025, 1, 31)


def test_a_month_after_march_31_is_april_30():
    assert add_months(date(2025, 3, 31), 1) == date(2025, 4, 30)


# --- Chronological age ----------------------------------------------------------------------


def test_a_child_is_0m0d_on_the_day_of_birth():
    assert age_on(date(2025, 3, 10), date(2025, 3, 10)) == Age(0, 0)


def test_a_child_born_on_the_31st_is_one_month_old_on_the_last_day_of_february():
    born = date(2025, 1, 31)
    assert age_on(born, date(2025, 2, 27)) == Age(0, 27)  # Jan 31 -> Feb 27: 27 days
    assert age_on(born, date(2025, 2, 28)) == Age(1, 0)  # Feb has no 31st: its last day
    assert age_on(born, date(2025, 3, 1)) == Age(1, 1)  # a day after Feb 28


def test_a_child_born_on_the_31st_is_1m30d_the_day_before_turning_two_months():
    born = date(2025, 1, 31)
    assert age_on(born, date(2025, 3, 30)) == Age(1, 30)  # Feb 28 + 30 days = Mar 30
    assert age_on(born, date(2025, 3, 31)) == Age(2, 0)  # back on the 31st


def test_a_child_born_on_the_31st_is_one_month_old_on_the_30th_of_a_30_day_month():
    born = date(2025, 3, 31)
    assert age_on(born, date(2025, 4, 29)) == Age(0, 29)  # Mar 31 -> Apr 29: 29 days
    assert age_on(born, date(2025, 4, 30)) == Age(1, 0)  # April has no 31st


def test_a_child_born_on_a_leap_day_turns_one_on_february_28_of_a_common_year():
    born = date(2024, 2, 29)
    assert age_on(born, date(2025, 2, 28)) == Age(12, 0)  # 2025 has no Feb 29
    assert age_on(born, date(2025, 3, 1)) == Age(12, 1)  # a day after Feb 28
    # 11 months on Jan 29, 2025; Jan 29 -> Feb 27 is 2 + 27 = 29 days.
    assert age_on(born, date(2025, 2, 27)) == Age(11, 29)


def test_a_child_born_on_a_leap_day_is_two_on_february_28_two_years_on():
    born = date(2024, 2, 29)
    assert age_on(born, date(2026, 2, 28)) == Age(24, 0)
    assert age_on(born, date(2026, 3, 1)) == Age(24, 1)


def test_an_age_before_the_birth_is_refused():
    with pytest.raises(ValueError):
        age_on(date(2025, 3, 10), date(2025, 3, 9))


# --- Weeks born early -----------------------------------------------------------------------


def test_four_or_more_days_of_gestation_round_up_a_week():
    assert weeks_early(37, 3) == 3  # 40 - 37
    assert weeks_early(37, 4) == 2  # 37w4d rounds to 38: 40 - 38
    assert weeks_early(37, 6) == 2  # rounds to 38


def test_unrecorded_days_of_gestation_count_as_none():
    assert weeks_early(37, None) == 3  # 40 - 37


def test_an_unknown_gestational_age_has_no_weeks_early():
    assert weeks_early(None, None) is None
    assert weeks_early(None, 5) is None


def test_a_baby_born_after_full_term_is_not_weeks_early():
    assert weeks_early(41, 0) == 0  # 40 - 41 would be -1
    assert weeks_early(40, 5) == 0  # 40w5d rounds to 41


def test_the_agencys_full_term_sets_the_weeks_early():
    assert weeks_early(35, 0, full_term_weeks=38) == 3  # 38 - 35
    assert weeks_early(37, 3, full_term_weeks=38) == 1  # 38 - 37
    assert weeks_early(36, 3, full_term_weeks=39) == 3  # 39 - 36
    assert weeks_early(36, 4, full_term_weeks=39) == 2  # 39 - 37


# --- Corrected age --------------------------------------------------------------------------


def test_a_baby_born_at_37_weeks_3_days_is_three_weeks_early_and_gets_a_corrected_age():
    born = date(2025, 1, 1)
    # 40 - 37 = 3 weeks early: due Jan 1 + 21 days = Jan 22; Jan 22 -> Mar 22 is 2 months.
    assert due_date(born, 37, 3) == date(2025, 1, 22)
    assert corrected_age(born, date(2025, 3, 22), 37, 3) == Age(2, 0)
    # Chronologically the child is 2 months (Mar 1) and 21 days.
    assert screening_age(born, date(2025, 3, 22), 37, 3) == Age(2, 0)
    assert age_on(born, date(2025, 3, 22)) == Age(2, 21)


def test_a_baby_born_at_37_weeks_4_days_is_only_two_weeks_early_and_gets_none():
    born = date(2025, 1, 1)
    # 37w4d rounds to 38 weeks: 40 - 38 = 2 weeks early, under the 3 weeks that call for it.
    assert due_date(born, 37, 4) is None
    assert corrected_age(born, date(2025, 3, 22), 37, 4) is None
    assert screening_age(born, date(2025, 3, 22), 37, 4) == Age(2, 21)  # Mar 1 + 21 days


def test_with_a_full_term_of_38_weeks_a_baby_of_35_weeks_gets_a_corrected_age():
    born = date(2025, 1, 1)
    # 38 - 35 = 3 weeks early: due Jan 22, as above.
    assert corrected_age(born, date(2025, 3, 22), 35, 0, full_term_weeks=38) == Age(2, 0)
    # 38 - 37 = 1 week early: none.
    assert corrected_age(born, date(2025, 3, 22), 37, 3, full_term_weeks=38) is None


def test_with_a_full_term_of_39_weeks_the_days_of_gestation_decide():
    born = date(2025, 1, 1)
    # 39 - 36 = 3 weeks early: due Jan 22, 2 months old on Mar 22.
    assert corrected_age(born, date(2025, 3, 22), 36, 3, full_term_weeks=39) == Age(2, 0)
    # 36w4d rounds to 37: 39 - 37 = 2 weeks early.
    assert corrected_age(born, date(2025, 3, 22), 36, 4, full_term_weeks=39) is None


def test_an_unknown_gestational_age_gives_no_corrected_age():
    born = date(2025, 1, 1)
    assert corrected_age(born, date(2025, 3, 22), None, None) is None
    assert screening_age(born, date(2025, 3, 22), None, None) == Age(2, 21)


def test_before_the_due_date_the_corrected_age_is_zero():
    born = date(2025, 1, 1)
    # 30 weeks: 10 weeks early, due Jan 1 + 70 days = Mar 12 (Jan 31 days, Feb 28, + 11).
    assert due_date(born, 30, 0) == date(2025, 3, 12)
    assert corrected_age(born, date(2025, 1, 1), 30, 0) == Age(0, 0)
    assert corrected_age(born, date(2025, 3, 1), 30, 0) == Age(0, 0)
    assert corrected_age(born, date(2025, 3, 12), 30, 0) == Age(0, 0)
    assert corrected_age(born, date(2025, 3, 13), 30, 0) == Age(0, 1)


def test_corrected_age_stops_at_24_months_chronological():
    born = date(2023, 1, 31)
    # 34 weeks: 6 weeks early, due Jan 31 + 42 days = Mar 14 (Feb 28 is 28 days on, + 14).
    # On Jan 30, 2025 the child is 23m30d (Dec 31, 2024 + 30 days): still corrected,
    # 22 months (Jan 14, 2025) and 16 days from the due date.
    assert age_on(born, date(2025, 1, 30)) == Age(23, 30)
    assert corrected_age(born, date(2025, 1, 30), 34, 0) == Age(22, 16)
    # On Jan 31, 2025 the child is 24m0d: no correction, the chronological age counts.
    assert corrected_age(born, date(2025, 1, 31), 34, 0) is None
    assert screening_age(born, date(2025, 1, 31), 34, 0) == Age(24, 0)


def test_a_corrected_age_before_the_birth_is_refused():
    with pytest.raises(ValueError):
        corrected_age(date(2025, 1, 1), date(2024, 12, 31), 30, 0)
