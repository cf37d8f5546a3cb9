"""A child's screening schedule (API.md), as a supervisor reads it: which questionnaire an age
calls for where the ASQ-3 windows overlap, the dates of a window for a baby born early, each
status of an interval, and the second birthday, when corrected age stops. The window tables
are DESIGN.md's, written out here. Every expected date is worked by hand."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hvcase.screenings.ages import Age, screening_age
from hvcase.screenings.schedule import choose_interval, schedule_items, status, window_dates


def window(start: str, end: str) -> tuple[Age, Age]:
    return (Age.parse(start), Age.parse(end))


# DESIGN.md's ASQ-3 table: 2 to 22 months (n) run from (n-1)m0d to (n)m30d.
ASQ3 = {
    2: window("1m0d", "2m30d"),
    4: window("3m0d", "4m30d"),
    6: window("5m0d", "6m30d"),
    8: window("7m0d", "8m30d"),
    9: window("8m0d", "9m30d"),
    10: window("9m0d", "10m30d"),
    12: window("11m0d", "12m30d"),
    14: window("13m0d", "14m30d"),
    16: window("15m0d", "16m30d"),
    18: window("17m0d", "18m30d"),
    20: window("19m0d", "20m30d"),
    22: window("21m0d", "22m30d"),
    24: window("23m0d", "25m15d"),
    27: window("25m16d", "28m15d"),
    30: window("28m16d", "31m15d"),
    33: window("31m16d", "34m15d"),
    36: window("34m16d", "38m30d"),
    42: window("39m0d", "44m30d"),
    48: window("45m0d", "50m30d"),
    54: window("51m0d", "56m30d"),
    60: window("57m0d", "66m0d"),
}

ASQSE2 = {
    2: window("1m0d", "2m30d"),
    6: window("3m0d", "8m30d"),
    12: window("9m0d", "14m30d"),
    18: window("15m0d", "20m30d"),
    24: window("21m0d", "26m30d"),
    30: window("27m0d", "32m30d"),
    36: window("33m0d", "41m30d"),
    48: window("42m0d", "53m30d"),
    60: window("54m0d", "72m0d"),
}

WINDOWS = {"asq3": ASQ3, "asqse2": ASQSE2}


def schedule(birth, weeks, days, today, required, screenings=None, full_term_weeks=40):
    return schedule_items(
        birth=birth,
        gestational_age_weeks=weeks,
        gestational_age_days=days,
        full_term_weeks=full_term_weeks,
        required_intervals=required,
        windows=WINDOWS,
        screenings=screenings or {},
        today=today,
    )


def rows(items):
    return [
        (i["instrument"], i["interval"], i["window_start"], i["window_end"], i["status"])
        for i in items
    ]


# --- Which interval an age calls for --------------------------------------------------------


def test_an_age_in_one_window_takes_its_interval():
    assert choose_interval(ASQ3, Age(7, 20)) == 8  # 9 opens at 8m0d
    assert choose_interval(ASQ3, Age(10, 20)) == 10  # 12 opens at 11m0d
    assert choose_interval(ASQ3, Age(11, 10)) == 12  # 10 closed at 10m30d


def test_in_the_8_9_10_overlap_up_to_15_days_past_a_month_is_nearest_that_month():
    assert choose_interval(ASQ3, Age(8, 0)) == 8  # in 8 and 9; 8m0d is 8 exactly
    # 15 days past 8 months; 15 or 16 short of 9 in a 30- or 31-day month of life.
    assert choose_interval(ASQ3, Age(8, 15)) == 8
    assert choose_interval(ASQ3, Age(9, 15)) == 9  # in 9 and 10


def test_in_the_8_9_10_overlap_16_days_past_a_month_is_nearest_the_next():
    assert choose_interval(ASQ3, Age(8, 16)) == 9  # 16 past 8, at most 15 short of 9
    assert choose_interval(ASQ3, Age(8, 30)) == 9  # last day of 8's window
    assert choose_interval(ASQ3, Age(9, 20)) == 10  # in 9 and 10


def test_at_9m0d_the_9_month_questionnaire_is_chosen_over_the_10():
    assert choose_interval(ASQ3, Age(9, 0)) == 9  # 8 closed at 8m30d; 10 opens at 9m0d


def test_the_24_month_window_ends_where_the_27_month_window_begins():
    assert choose_interval(ASQ3, Age(25, 15)) == 24
    assert choose_interval(ASQ3, Age(25, 16)) == 27


def test_the_asq_se2_windows_meet_without_overlap():
    assert choose_interval(ASQSE2, Age(8, 30)) == 6
    assert choose_interval(ASQSE2, Age(9, 0)) == 12


def test_an_age_outside_every_window_takes_no_interval():
    assert choose_interval(ASQ3, Age(0, 20)) is None  # before 1m0d
    assert choose_interval(ASQ3, Age(66, 1)) is None  # 60's window ends at 66m0d


# --- The dates of a window ------------------------------------------------------------------


def test_a_window_runs_from_the_day_of_its_start_age_to_the_day_of_its_end_age():
    # Born Mar 10, 2025: 1m0d Apr 10; 2m0d May 10, + 30 days = Jun 9 (3m0d is Jun 10).
    assert window_dates(date(2025, 3, 10), ASQ3[2]) == (date(2025, 4, 10), date(2025, 6, 9))


def test_a_window_ending_at_2m30d_closes_before_three_months_in_a_short_month():
    # Born Dec 1, 2024: 2m0d Feb 1, 2025; Feb 1 + 30 days would be Mar 3, but the child is
    # 3m0d on Mar 1, so the last day of 2m-something is Feb 28.
    assert window_dates(date(2024, 12, 1), ASQ3[2]) == (date(2025, 1, 1), date(2025, 2, 28))


def test_a_window_of_a_child_born_on_the_31st():
    # Born Jan 31, 2025: 1m0d Feb 28; 2m0d Mar 31; 3m0d Apr 30, so the window ends Apr 29
    # (2m29d: this child is never 2m30d).
    assert window_dates(date(2025, 1, 31), ASQ3[2]) == (date(2025, 2, 28), date(2025, 4, 29))


def test_a_corrected_childs_window_is_counted_from_the_due_date():
    # Born Jan 1, 2025 at 32 weeks: 8 weeks early, due Jan 1 + 56 days = Feb 26.
    # 6 months: 5m0d from Feb 26 is Jul 26; 6m0d Aug 26, + 30 days = Sep 25 (7m0d is Sep 26).
    assert window_dates(date(2025, 2, 26), ASQ3[6]) == (date(2025, 7, 26), date(2025, 9, 25))
    items = schedule(date(2025, 1, 1), 32, 0, date(2025, 7, 1), {"asq3": [6]})
    # Chronologically the window would be Jun 1 - Jul 31, open on Jul 1; corrected, not yet.
    assert rows(items) == [("asq3", 6, date(2025, 7, 26), date(2025, 9, 25), "upcoming")]


# --- Status of each interval ----------------------------------------------------------------

BORN = date(2025, 1, 10)  # a full-term baby: windows on chronological age
# ASQ-3 2 and ASQ:SE-2 2: 1m0d Feb 10 to 2m30d (Mar 10 + 30 = Apr 9; 3m0d is Apr 10).
# ASQ-3 4: 3m0d Apr 10 to 4m30d (May 10 + 30 = Jun 9); 4m0d is May 10.
# ASQ-3 6: 5m0d Jun 10 to 6m30d (Jul 10 + 30 = Aug 9).
# ASQ:SE-2 6: 3m0d Apr 10 to 8m30d (Sep 10 + 30 = Oct 10 is 9m0d, so Oct 9); 6m0d is Jul 10.


def test_a_schedule_shows_each_status_on_one_day():
    screening = uuid.uuid4()
    items = schedule(
        BORN,
        40,
        0,
        date(2025, 5, 20),
        {"asq3": [6, 2, 4], "asqse2": [2, 6]},
        screenings={"asq3": {2: screening}},
    )

    assert rows(items) == [
        ("asq3", 2, date(2025, 2, 10), date(2025, 4, 9), "completed"),
        ("asq3", 4, date(2025, 4, 10), date(2025, 6, 9), "overdue"),  # past May 10
        ("asq3", 6, date(2025, 6, 10), date(2025, 8, 9), "upcoming"),
        ("asqse2", 2, date(2025, 2, 10), date(2025, 4, 9), "missed"),
        ("asqse2", 6, date(2025, 4, 10), date(2025, 10, 9), "due"),  # before Jul 10
    ]
    assert [i["screening_id"] for i in items] == [screening, None, None, None, None]


def test_an_interval_is_due_up_to_the_day_of_its_age_and_overdue_after():
    # ASQ-3 4 for BORN: window Apr 10 - Jun 9, 4m0d on May 10.
    def on(today):
        return status(
            today=today,
            window_start=date(2025, 4, 10),
            window_end=date(2025, 6, 9),
            interval_age_date=date(2025, 5, 10),
            screening_id=None,
        )

    assert on(date(2025, 4, 9)) == "upcoming"
    assert on(date(2025, 4, 10)) == "due"
    assert on(date(2025, 5, 10)) == "due"
    assert on(date(2025, 5, 11)) == "overdue"
    assert on(date(2025, 6, 9)) == "overdue"
    assert on(date(2025, 6, 10)) == "missed"


def test_a_recorded_screening_completes_its_interval_whatever_the_day():
    screening = uuid.uuid4()
    for today in (date(2025, 4, 1), date(2025, 5, 1), date(2025, 7, 1)):
        assert (
            status(
                today=today,
                window_start=date(2025, 4, 10),
                window_end=date(2025, 6, 9),
                interval_age_date=date(2025, 5, 10),
                screening_id=screening,
            )
            == "completed"
        )


def test_a_screening_of_another_instrument_completes_nothing_else():
    items = schedule(
        BORN,
        None,
        None,
        date(2025, 5, 20),
        {"asq3": [2], "asqse2": [2]},
        screenings={"asqse2": {6: uuid.uuid4()}},
    )
    assert [i["status"] for i in items] == ["missed", "missed"]


# --- The second birthday, when corrected age stops -----------------------------------------

# Born Jun 15, 2023 at 28 weeks: 12 weeks early, due Jun 15 + 84 days = Sep 7 (30 days to
# Jul 15, 31 to Aug 15, + 23). Second birthday: Jun 15, 2025.
PRETERM = date(2023, 6, 15)


def test_a_window_running_past_the_second_birthday_closes_the_day_before():
    # ASQ-3 22: 21m0d corrected is Sep 7 + 21 months = Jun 7, 2025; it would run to Aug 6,
    # but on Jun 15 the child is 24m0d chronologically: the window ends Jun 14. The child is
    # 22 months old on the screening clock only on Jun 15 (24m0d), so it is due all along.
    items = schedule(PRETERM, 28, 0, date(2025, 6, 10), {"asq3": [22]})
    assert rows(items) == [("asq3", 22, date(2025, 6, 7), date(2025, 6, 14), "due")]
    items = schedule(PRETERM, 28, 0, date(2025, 6, 15), {"asq3": [22]})
    assert rows(items)[0][4] == "missed"


def test_the_24_month_window_of_a_child_corrected_until_the_second_birthday():
    # 23m0d corrected would be Aug 7, 2025, after the second birthday: the window opens on
    # the second birthday (Jun 15, 24m0d chronological) and ends at 25m15d chronological
    # (Jul 15 + 15 days = Jul 30). 24 months is the second birthday itself.
    items = schedule(PRETERM, 28, 0, date(2025, 6, 15), {"asq3": [24]})
    assert rows(items) == [("asq3", 24, date(2025, 6, 15), date(2025, 7, 30), "due")]
    items = schedule(PRETERM, 28, 0, date(2025, 6, 16), {"asq3": [24]})
    assert rows(items)[0][4] == "overdue"


def test_the_24_month_window_opens_on_corrected_age_before_the_second_birthday():
    # Born Jan 1, 2023 at 37 weeks: 3 weeks early, due Jan 22. 23m0d corrected is Dec 22,
    # 2024, before the second birthday (Jan 1, 2025); the window ends at 25m15d chronological
    # (Feb 1, 2025 + 15 days = Feb 16). 24 months on the screening clock: Jan 1, 2025.
    items = schedule(date(2023, 1, 1), 37, 0, date(2024, 12, 31), {"asq3": [24]})
    assert rows(items) == [("asq3", 24, date(2024, 12, 22), date(2025, 2, 16), "due")]


def test_windows_after_the_second_birthday_are_counted_on_chronological_age():
    # ASQ-3 27: 25m16d (Jul 15, 2025 + 16 = Jul 31) to 28m15d (Oct 15 + 15 = Oct 30).
    # ASQ:SE-2 30: 27m0d (Sep 15, 2025) to 32m30d (Feb 15, 2026 + 30 days would be Mar 17,
    # but 33m0d is Mar 15, so Mar 14).
    items = schedule(PRETERM, 28, 0, date(2025, 6, 1), {"asq3": [27], "asqse2": [30]})
    assert rows(items) == [
        ("asq3", 27, date(2025, 7, 31), date(2025, 10, 30), "upcoming"),
        ("asqse2", 30, date(2025, 9, 15), date(2026, 3, 14), "upcoming"),
    ]


def test_an_interval_a_very_early_baby_never_reaches_is_left_out():
    # Born Jun 15, 2023 at 26 weeks: 14 weeks early, due Jun 15 + 98 days = Sep 21. Corrected
    # 21m0d would be Jun 21, 2025, after the second birthday (Jun 15), when the age becomes
    # 24m0d: the 22-month questionnaire can never be given.
    # ASQ-3 20: 19m0d corrected Apr 21, 2025, to the day before the second birthday, Jun 14;
    # 20m0d corrected is May 21, so on Jun 1 it is overdue. ASQ-3 24 opens on Jun 15.
    items = schedule(PRETERM, 26, 0, date(2025, 6, 1), {"asq3": [20, 22, 24]})
    assert rows(items) == [
        ("asq3", 20, date(2025, 4, 21), date(2025, 6, 14), "overdue"),
        ("asq3", 24, date(2025, 6, 15), date(2025, 7, 30), "upcoming"),
    ]


def test_a_recorded_screening_of_an_interval_never_reached_is_still_shown():
    screening = uuid.uuid4()
    items = schedule(
        PRETERM, 26, 0, date(2025, 6, 1), {"asq3": [22]}, screenings={"asq3": {22: screening}}
    )
    assert items == [
        {
            "instrument": "asq3",
            "interval": 22,
            "window_start": None,
            "window_end": None,
            "status": "completed",
            "screening_id": screening,
            "due_on": None,
        }
    ]


def test_the_schedules_window_dates_are_the_days_its_screening_age_is_in_the_window():
    # The schedule and the check of an administered questionnaire (screening age on the day,
    # inside the interval's window) must agree on every day, across the second birthday.
    for weeks in (26, 28, 34, 37, 40):
        items = schedule(PRETERM, weeks, 0, PRETERM, {"asq3": list(ASQ3)})
        dates = {i["interval"]: (i["window_start"], i["window_end"]) for i in items}
        for offset in range(0, 3 * 366):
            day = PRETERM + timedelta(days=offset)
            age = screening_age(PRETERM, day, weeks, 0)
            for interval, (start, end) in ASQ3.items():
                in_window = start <= age <= end
                first, last = dates.get(interval, (None, None))
                on_dates = first is not None and first <= day <= last
                assert in_window == on_dates, (weeks, day, interval, age)
