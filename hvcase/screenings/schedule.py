"""A child's screening schedule (API.md, "Developmental benchmarks and screenings"): which
interval an age falls in, the calendar dates of each interval's window, and where the child
stands on each required interval. Pure functions over plain data: the instruments' windows,
the agency's required intervals and the screenings recorded are passed in.

A window is ``(start, end)``, two ages, both included; an instrument's windows are a mapping of
interval (months) to window. Windows are measured on the screening age (DESIGN.md): corrected
age while it applies, chronological age otherwise.

**The schedule's dates are the days on which the child's screening age lies in the window**,
so the dates shown are exactly the days on which a questionnaire of that interval is accepted.
For a child born 3 or more weeks early this settles the 24-month cut-off (DESIGN.md: corrected
age stops when the child is 24 months old chronologically) without a special case:

- before the second birthday, windows are counted from the due date; a window that would run
  past the second birthday closes the day before it, since from that day on the child's
  screening age is chronological (24m0d or more) and no longer in the window;
- from the second birthday on, windows are counted from the birth date: intervals of 24 months
  and beyond are counted on chronological age, except that a 24-month window (ASQ-3 23m0d,
  ASQ:SE-2 21m0d) opens on the corrected clock when the child reaches its start before the
  second birthday;
- a window the child's screening age never enters (ASQ-3 22 months for a child born 13 or 14
  weeks early or more: corrected age is still under 21m0d the day before the second birthday,
  and chronological age the next day is 24m0d) has no dates: the interval is left out of the
  schedule, not reported missed, since the questionnaire could never have been given.

A window's end is its last day: an end of ``2m30d`` closes the day before the child is three
months old when that month of the child's life has fewer than 31 days (a child born on
December 1 is 3m0d on March 1, so the 2-month window closes on February 28).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from hvcase.screenings.ages import CORRECTION_UNTIL, Age, add_months, due_date

Window = tuple[Age, Age]

STATUSES = ("upcoming", "due", "overdue", "missed", "completed")

_ONE_DAY = timedelta(days=1)
# Past this many days an age is nearer the next whole month than its own (choose_interval).
_NEARER_NEXT_MONTH_FROM_DAYS = 16


def choose_interval(windows: Mapping[int, Window], age: Age) -> int | None:
    """The interval whose window contains ``age``; None when no window does.

    Where windows overlap (ASQ-3 8, 9 and 10 months), the interval whose age (``n`` months,
    0 days) is nearest to ``age`` (DESIGN.md), ties to the lower interval. "Nearest" is counted
    in whole months after rounding the age: 15 days or fewer round down, 16 or more round up.
    An age of m months and d days is d days past its m-month day and L − d short of the next,
    where L, the length of that month of the child's life, is 28 to 31 days: with d ≤ 14 the
    lower month is nearer (or tied) for every L, with d ≥ 16 the upper month is nearer for
    every L, and d = 15 is tied or nearer the lower for L of 30 or 31. Only d = 15 in a 28- or
    29-day month of life is a day nearer the upper month, which the age alone cannot tell.
    """
    containing = [n for n, (start, end) in windows.items() if start <= age <= end]
    if not containing:
        return None
    rounded = age.months + (1 if age.days >= _NEARER_NEXT_MONTH_FROM_DAYS else 0)
    return min(containing, key=lambda n: (abs(n - rounded), n))


def _first_day_at_least(clock_start: date, age: Age) -> date:
    """The first day on which a child counted from ``clock_start`` is ``age`` old or older.

    Usually ``add_months(clock_start, months) + days``; but a month of life shorter than
    ``days`` has already ended by then, and the first such day is the next month's.
    """
    return min(
        add_months(clock_start, age.months) + timedelta(days=age.days),
        add_months(clock_start, age.months + 1),
    )


def _just_after(age: Age) -> Age:
    """The least age greater than ``age`` (``8m30d`` -> ``8m31d``, which no day reaches,
    so its first day is the day of ``9m0d``)."""
    return Age(age.months, age.days + 1)


def window_dates(birth_for_windows: date, window: Window) -> tuple[date, date]:
    """The first and last days of ``window`` for a child whose ages are counted from
    ``birth_for_windows`` (the due date when corrected age applies, else the birth date): the
    days on which ``age_on(birth_for_windows, day)`` lies within the window.

    The start is the day the child is ``start`` old; the end is the day the child is ``end``
    old, or the day before the next whole month when that month of life is too short to reach
    ``end`` (see the module's docstring). Counts on one clock only; ``schedule_items`` also
    handles the end of corrected age at 24 months.
    """
    start, end = window
    return (
        _first_day_at_least(birth_for_windows, start),
        _first_day_at_least(birth_for_windows, _just_after(end)) - _ONE_DAY,
    )


class _ScreeningClock:
    """When a child reaches a screening age: on the corrected clock (from the due date) before
    the second birthday when corrected age applies, on the birth date's clock otherwise."""

    def __init__(self, birth: date, due: date | None) -> None:
        self.birth = birth
        self.due = due
        self.correction_ends = add_months(birth, CORRECTION_UNTIL.months)

    def first_day_at_least(self, age: Age) -> date:
        """The first day on which the child's screening age is ``age`` or more. The screening
        age never decreases: at the second birthday it moves from a corrected age under 24
        months to the chronological 24m0d."""
        if age == Age(0, 0):
            # Every child is 0m0d at birth; on the corrected clock, until the due date too.
            return self.birth
        if self.due is None:
            return _first_day_at_least(self.birth, age)
        corrected = _first_day_at_least(self.due, age)
        if corrected < self.correction_ends:
            return corrected
        return max(self.correction_ends, _first_day_at_least(self.birth, age))

    def window_dates(self, window: Window) -> tuple[date, date] | None:
        """The days on which the screening age lies in ``window``; None when there are none."""
        start, end = window
        first = self.first_day_at_least(start)
        last = self.first_day_at_least(_just_after(end)) - _ONE_DAY
        return (first, last) if first <= last else None


def status(
    *,
    today: date,
    window_start: date,
    window_end: date,
    interval_age_date: date,
    screening_id: uuid.UUID | None,
) -> str:
    """Where a child stands on one interval (API.md, schedule ``status``) on the agency's
    ``today``: ``completed`` when a screening of the interval is recorded, else ``upcoming``
    before the window opens, ``missed`` after it closes, and within it ``due`` up to and
    including the day the child is the interval's age (``n`` months on the window's clock),
    ``overdue`` after."""
    if screening_id is not None:
        return "completed"
    if today < window_start:
        return "upcoming"
    if today > window_end:
        return "missed"
    return "due" if today <= interval_age_date else "overdue"


def schedule_items(
    *,
    birth: date,
    gestational_age_weeks: int | None,
    gestational_age_days: int | None,
    full_term_weeks: int,
    required_intervals: Mapping[str, Iterable[int]],
    windows: Mapping[str, Mapping[int, Window]],
    screenings: Mapping[str, Mapping[int, uuid.UUID]],
    today: date,
) -> list[dict[str, object]]:
    """A child's schedule (API.md ``GET /children/{id}/schedule``): one item per required
    interval, ``{instrument, interval, window_start, window_end, status, screening_id}`` (and
    ``due_on``, the day the child is the interval's age, after which it is overdue),
    instruments in the order of ``required_intervals``, intervals ascending.

    ``required_intervals`` is the agency's setting (instrument -> intervals); ``windows`` the
    instruments' window tables (instrument -> interval -> window); ``screenings`` the child's
    non-voided screenings (instrument -> interval -> screening id); ``full_term_weeks`` the
    agency's full term; ``today`` the agency's today. Window dates follow the screening age,
    corrected where it applies (see the module's docstring). An interval whose window the child
    never reaches is left out, unless a screening of it is recorded: then it is ``completed``
    with no window dates.
    """
    clock = _ScreeningClock(
        birth, due_date(birth, gestational_age_weeks, gestational_age_days, full_term_weeks)
    )
    items: list[dict[str, object]] = []
    for instrument, intervals in required_intervals.items():
        recorded = screenings.get(instrument, {})
        for interval in sorted(intervals):
            screening_id = recorded.get(interval)
            dates = clock.window_dates(windows[instrument][interval])
            if dates is None:
                if screening_id is None:
                    continue
                window_start = window_end = due_on = None
                item_status = "completed"
            else:
                window_start, window_end = dates
                due_on = clock.first_day_at_least(Age(interval, 0))
                item_status = status(
                    today=today,
                    window_start=window_start,
                    window_end=window_end,
                    interval_age_date=due_on,
                    screening_id=screening_id,
                )
            items.append(
                {
                    "instrument": instrument,
                    "interval": interval,
                    "window_start": window_start,
                    "window_end": window_end,
                    "status": item_status,
                    "screening_id": screening_id,
                    "due_on": due_on,  # the interval's age: overdue after it
                }
            )
    return items
