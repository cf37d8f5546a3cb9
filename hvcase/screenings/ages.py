"""A child's age in months and days, chronological and corrected (DESIGN.md, "Domain rules that
are easy to get wrong": Age).

An age is counted in calendar months from the birth date, then days: ``1m0d`` is the day the
child is one month old. A month that has no such day (a child born on the 31st, in a 30-day
month) ends on its last day, so the child is one month old on the last day of the next month.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_AGE_TEXT = re.compile(r"(\d+)m(\d+)d")


@dataclass(frozen=True, order=True)
class Age:
    """An age in whole months and days, ordered by (months, days)."""

    months: int
    days: int

    @classmethod
    def parse(cls, text: str) -> Age:
        """``"23m0d"`` -> ``Age(23, 0)``; anything else is a ValueError."""
        match = _AGE_TEXT.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not an age like '23m0d'")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.months}m{self.days}d"


# Corrected age is used for children born this many weeks early or more, until they are
# CORRECTION_UNTIL old chronologically (DESIGN.md).
CORRECTION_FROM_WEEKS_EARLY = 3
CORRECTION_UNTIL = Age(24, 0)


def add_months(day: date, months: int) -> date:
    """``day`` moved by calendar months, kept on the same day of the month or, where the month
    is shorter, on its last day (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth: date, on: date) -> Age:
    """The age on ``on`` of a child born on ``birth``: the whole months m for which
    ``add_months(birth, m)`` is on or before ``on``, then the days since that date.

    Born Jan 31: 1m0d on Feb 28 (a non-leap year), 1m1d on Mar 1. Born Feb 29, 2024: 12m0d on
    Feb 28, 2025. A date before the birth is a ValueError.
    """
    if on < birth:
        raise ValueError(f"{on} is before the birth date {birth}")
    # add_months(birth, m) falls in the m-th month after birth's month, so only the month of
    # ``on`` and the one before it can be the answer.
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if add_months(birth, months) > on:
        months -= 1
    return Age(months, (on - add_months(birth, months)).days)


def weeks_early(
    gestational_age_weeks: int | None,
    gestational_age_days: int | None,
    full_term_weeks: int = 40,
) -> int | None:
    """Weeks born early = full term − gestational age, where 4 or more days of gestation round
    the weeks up (DESIGN.md); never below 0. None when the gestational age is unknown.

    ``full_term_weeks`` is the agency's setting: 40 by default, 38 or 39 as the ASQ publisher
    allows. Missing days count as 0.
    """
    if gestational_age_weeks is None:
        return None
    rounded = gestational_age_weeks + (1 if (gestational_age_days or 0) >= 4 else 0)
    return max(0, full_term_weeks - rounded)


def due_date(
    birth: date,
    gestational_age_weeks: int | None,
    gestational_age_days: int | None,
    full_term_weeks: int = 40,
) -> date | None:
    """The date corrected age is counted from: the birth date plus the weeks born early. None
    when the child's gestation calls for no correction: gestational age unknown, or born fewer
    than 3 weeks early."""
    early = weeks_early(gestational_age_weeks, gestational_age_days, full_term_weeks)
    if early is None or early < CORRECTION_FROM_WEEKS_EARLY:
        return None
    return birth + timedelta(weeks=early)


def corrected_age(
    birth: date,
    on: date,
    gestational_age_weeks: int | None,
    gestational_age_days: int | None,
    full_term_weeks: int = 40,
) -> Age | None:
    """Corrected age on ``on`` (DESIGN.md): the age counted from the due date, for a child born
    3 or more weeks early, until the child is 24 months old chronologically.

    None when no correction applies: gestational age unknown, fewer than 3 weeks early, or a
    chronological age of 24m0d or more on ``on``. Before the due date the corrected age is
    0m0d (the child is not yet "born" on the corrected clock; there is no negative age).
    A date before the birth is a ValueError.
    """
    due = due_date(birth, gestational_age_weeks, gestational_age_days, full_term_weeks)
    if age_on(birth, on) >= CORRECTION_UNTIL or due is None:
        return None
    if on < due:
        return Age(0, 0)
    return age_on(due, on)


def screening_age(
    birth: date,
    on: date,
    gestational_age_weeks: int | None,
    gestational_age_days: int | None,
    full_term_weeks: int = 40,
) -> Age:
    """The age screening windows are measured on (DESIGN.md): the corrected age where it
    applies, else the chronological age."""
    corrected = corrected_age(
        birth, on, gestational_age_weeks, gestational_age_days, full_term_weeks
    )
    return corrected if corrected is not None else age_on(birth, on)
