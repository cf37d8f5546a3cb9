"""The instruments and the ASQ cutoffs are data files, checked when they are loaded: what ships
is what DESIGN.md and API.md publish, a deployment (here, the test's own folder) adds an
instrument with a file, and a bad file stops the load naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hvcase.screenings.ages import Age
from hvcase.screenings.instruments import (
    EXAMPLE_CUTOFFS_FILE,
    Cutoff,
    DataFileError,
    load_cutoffs,
    load_instruments,
)

TEST_INSTRUMENTS = Path(__file__).parent / "data" / "instruments"
HEADER = "instrument,interval,domain,cutoff,monitoring_to"
ASQ3_DOMAINS = ("communication", "gross_motor", "fine_motor", "problem_solving", "personal_social")


def write_instrument(folder: Path, name: str, body: dict | str) -> Path:
    path = folder / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def small_screen(**changes) -> dict:
    """A valid sum-scored caregiver screen, with ``changes`` applied."""
    body = {
        "code": "calm3",
        "name": "Calm check",
        "subject": "caregiver",
        "items": {"count": 3, "min": 0, "max": 2},
        "scoring": {"method": "sum", "positive_at": 4, "urgent_items": [3]},
    }
    return {**body, **changes}


def refused_instrument(tmp_path: Path, body: dict | str) -> DataFileError:
    path = write_instrument(tmp_path, "bad.json", body)
    with pytest.raises(DataFileError) as caught:
        load_instruments(tmp_path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    return caught.value


def write_cutoffs(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "cutoffs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def refused_cutoffs(path: Path) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        load_cutoffs(path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    return caught.value


# --- What ships ----------------------------------------------------------------------------


def test_the_package_ships_the_five_instruments_of_the_api():
    instruments = load_instruments()

    assert list(instruments) == ["asq3", "asqse2", "epds", "ipv", "phq9"]
    assert {code: i.subject for code, i in instruments.items()} == {
        "asq3": "child",
        "asqse2": "child",
        "epds": "caregiver",
        "ipv": "caregiver",
        "phq9": "caregiver",
    }


def test_the_asq3_windows_are_design_md_s_table():
    asq3 = load_instruments()["asq3"]

    # (n-1)m0d to (n)m30d for 2 to 22 months, then the table's own rows.
    assert dict(asq3.intervals) == {
        2: ("1m0d", "2m30d"),
        4: ("3m0d", "4m30d"),
        6: ("5m0d", "6m30d"),
        8: ("7m0d", "8m30d"),
        9: ("8m0d", "9m30d"),
        10: ("9m0d", "10m30d"),
        12: ("11m0d", "12m30d"),
        14: ("13m0d", "14m30d"),
        16: ("15m0d", "16m30d"),
        18: ("17m0d", "18m30d"),
        20: ("19m0d", "20m30d"),
        22: ("21m0d", "22m30d"),
        24: ("23m0d", "25m15d"),
        27: ("25m16d", "28m15d"),
        30: ("28m16d", "31m15d"),
        33: ("31m16d", "34m15d"),
        36: ("34m16d", "38m30d"),
        42: ("39m0d", "44m30d"),
        48: ("45m0d", "50m30d"),
        54: ("51m0d", "56m30d"),
        60: ("57m0d", "66m0d"),
    }


def test_the_asqse2_windows_are_design_md_s_list():
    asqse2 = load_instruments()["asqse2"]

    assert dict(asqse2.intervals) == {
        2: ("1m0d", "2m30d"),
        6: ("3m0d", "8m30d"),
        12: ("9m0d", "14m30d"),
        18: ("15m0d", "20m30d"),
        24: ("21m0d", "26m30d"),
        30: ("27m0d", "32m30d"),
        36: ("33m0d", "41m30d"),
        48: ("42m0d", "53m30d"),
        60: ("54m0d", "72m0d"),
    }


def test_the_schedule_reads_the_windows_as_ages():
    asq3 = load_instruments()["asq3"]

    assert asq3.windows[24] == (Age(23, 0), Age(25, 15))
    assert asq3.windows[60] == (Age(57, 0), Age(66, 0))


def test_asq3_has_five_domains_of_six_items_answered_yes_sometimes_or_not_yet():
    asq3 = load_instruments()["asq3"]

    assert asq3.domains == ASQ3_DOMAINS
    assert asq3.items["per_domain"] == 6
    assert dict(asq3.items["answers"]) == {"yes": 10, "sometimes": 5, "not_yet": 0}
    assert asq3.domain_max == 60  # 6 items x 10 points
    assert asq3.score_step == 5  # the points move by 5
    assert asq3.scoring["method"] == "asq_domains"


def test_asqse2_is_a_total_without_item_responses():
    asqse2 = load_instruments()["asqse2"]

    assert asqse2.domains == ("total",)
    assert asqse2.items is None
    assert dict(asqse2.scoring) == {"method": "asq_total", "score_step": 5}


def test_the_caregiver_screens_declare_their_items_and_thresholds():
    instruments = load_instruments()

    def block(code):
        items = instruments[code].items
        return (items["count"], items["min"], items["max"]), dict(instruments[code].scoring)

    assert block("phq9") == (
        (9, 0, 3),
        {"method": "sum", "positive_at": 10, "urgent_items": (9,)},
    )
    assert block("epds") == (
        (10, 0, 3),
        {"method": "sum", "positive_at_setting": "epds_positive_at", "urgent_items": (10,)},
    )
    assert block("ipv") == ((4, 1, 5), {"method": "sum", "positive_at": 11, "urgent_items": ()})
    assert instruments["ipv"].items["labels"] == ("hurt", "insult", "threaten", "scream")
    assert instruments["phq9"].intervals is None


def test_get_instruments_shows_code_name_subject_intervals_items_and_scoring():
    instruments = load_instruments()

    phq9 = instruments["phq9"].describe()
    asq3 = instruments["asq3"].describe()

    assert set(phq9) >= {"code", "name", "subject", "intervals", "items", "scoring"}
    assert phq9["scoring"] == {"method": "sum", "positive_at": 10, "urgent_items": [9]}
    assert phq9["intervals"] is None
    assert asq3["intervals"]["24"] == ["23m0d", "25m15d"]
    assert asq3["items"] == {"per_domain": 6, "answers": {"yes": 10, "sometimes": 5, "not_yet": 0}}
    json.dumps([i.describe() for i in instruments.values()])  # plain JSON, nothing else


# --- A deployment's own instruments --------------------------------------------------------


def test_an_instrument_in_another_folder_loads_beside_the_shipped_ones():
    instruments = load_instruments(TEST_INSTRUMENTS)

    assert list(instruments) == ["asq3", "asqse2", "epds", "ipv", "phq9", "stress4"]
    stress4 = instruments["stress4"]
    assert (stress4.subject, stress4.items["count"], stress4.scoring["positive_at"]) == (
        "caregiver",
        4,
        8,
    )
    assert stress4.source == TEST_INSTRUMENTS / "stress4.json"


def test_a_code_defined_twice_is_refused_naming_both_files(tmp_path):
    shipped = load_instruments()["phq9"].source
    copy = write_instrument(tmp_path, "my_phq9.json", shipped.read_text(encoding="utf-8"))

    with pytest.raises(DataFileError) as caught:
        load_instruments(tmp_path)

    assert caught.value.path == copy
    assert list(caught.value.errors) == ["code"]
    assert str(shipped) in caught.value.errors["code"][0]


def test_an_instruments_folder_that_is_not_there_is_refused(tmp_path):
    with pytest.raises(DataFileError) as caught:
        load_instruments(tmp_path / "nowhere")

    assert list(caught.value.errors) == ["folder"]


# --- Bad instrument files ------------------------------------------------------------------


def test_a_subject_that_is_neither_child_nor_caregiver_is_refused(tmp_path):
    error = refused_instrument(tmp_path, small_screen(subject="parent"))

    assert list(error.errors) == ["subject"]
    assert "subject" in str(error)


def test_a_file_that_is_not_json_is_refused(tmp_path):
    error = refused_instrument(tmp_path, '{"code": "calm3",')

    assert list(error.errors) == ["file"]


def test_an_unknown_key_is_refused(tmp_path):
    error = refused_instrument(tmp_path, small_screen(colour="blue"))

    assert error.errors == {"colour": ["Unknown field."]}


def test_an_urgent_item_beyond_the_items_is_refused(tmp_path):
    scoring = {"method": "sum", "positive_at": 4, "urgent_items": [4]}  # only 3 items

    error = refused_instrument(tmp_path, small_screen(scoring=scoring))

    assert error.errors == {"scoring.urgent_items": ["Items are numbered 1 to 3."]}


def test_a_threshold_no_total_can_reach_is_refused(tmp_path):
    scoring = {"method": "sum", "positive_at": 7, "urgent_items": []}  # 3 items x 2 = 6 at most

    error = refused_instrument(tmp_path, small_screen(scoring=scoring))

    assert list(error.errors) == ["scoring.positive_at"]


def test_a_sum_takes_one_threshold_not_two(tmp_path):
    scoring = {"method": "sum", "positive_at": 4, "positive_at_setting": "epds_positive_at"}

    error = refused_instrument(tmp_path, small_screen(scoring=scoring))

    assert list(error.errors) == ["scoring.positive_at"]


def test_a_threshold_setting_the_agency_does_not_have_is_refused(tmp_path):
    scoring = {"method": "sum", "positive_at_setting": "calm_positive_at"}

    error = refused_instrument(tmp_path, small_screen(scoring=scoring))

    assert list(error.errors) == ["scoring.positive_at_setting"]


def test_an_unknown_scoring_method_is_refused(tmp_path):
    error = refused_instrument(tmp_path, small_screen(scoring={"method": "average"}))

    assert list(error.errors) == ["scoring.method"]


def test_an_answer_range_upside_down_is_refused(tmp_path):
    error = refused_instrument(tmp_path, small_screen(items={"count": 3, "min": 2, "max": 0}))

    assert error.errors == {"items.max": ["Must be above min."]}


def test_a_window_that_does_not_hold_its_interval_is_refused(tmp_path):
    asq3 = json.loads(load_instruments()["asq3"].source.read_text(encoding="utf-8"))
    asq3["code"] = "asq3_local"
    asq3["intervals"]["24"] = ["25m0d", "26m30d"]  # 24m0d falls before the window

    error = refused_instrument(tmp_path, asq3)

    assert list(error.errors) == ["intervals.24"]


def test_an_age_in_another_notation_is_refused(tmp_path):
    asq3 = json.loads(load_instruments()["asq3"].source.read_text(encoding="utf-8"))
    asq3["code"] = "asq3_local"
    asq3["intervals"]["2"] = ["1 month", "2m31d"]

    error = refused_instrument(tmp_path, asq3)

    assert set(error.errors) == {"intervals.2.value.0", "intervals.2.value.1"}


def test_a_caregiver_instrument_has_no_intervals(tmp_path):
    error = refused_instrument(tmp_path, small_screen(intervals={"2": ["1m0d", "2m30d"]}))

    assert list(error.errors) == ["intervals"]


# --- The cutoffs file ----------------------------------------------------------------------


def test_the_shipped_cutoffs_are_an_example_and_say_so():
    first_line = EXAMPLE_CUTOFFS_FILE.read_text(encoding="utf-8").splitlines()[0]

    cutoffs = load_cutoffs(EXAMPLE_CUTOFFS_FILE)

    assert ".example." in EXAMPLE_CUTOFFS_FILE.name
    assert first_line.startswith("# EXAMPLE")
    assert "NOT the licensed" in first_line
    assert cutoffs.is_example


def test_the_example_has_a_row_for_every_interval_and_domain():
    cutoffs = load_cutoffs(EXAMPLE_CUTOFFS_FILE)

    # ASQ-3: 21 intervals x 5 domains; ASQ:SE-2: 9 intervals x its total.
    assert len(cutoffs.rows) == 21 * 5 + 9
    assert cutoffs.get("asq3", 24, "communication") == Cutoff(25.0, 37.5)
    assert cutoffs.get("asqse2", 24, "total") == Cutoff(65.0, None)
    assert cutoffs.get("asq3", 25, "communication") is None


def test_an_agency_s_own_file_is_not_an_example(tmp_path):
    # The licensed file has the same rows, without the example's first line.
    lines = EXAMPLE_CUTOFFS_FILE.read_text(encoding="utf-8").splitlines()
    path = write_cutoffs(tmp_path, "# Licensed ASQ cutoffs of our agency", *lines[1:])

    cutoffs = load_cutoffs(path)

    assert not cutoffs.is_example
    assert cutoffs.get("asq3", 24, "communication") == Cutoff(25.0, 37.5)


def test_a_cutoff_that_is_not_a_number_is_refused_naming_its_line(tmp_path):
    path = write_cutoffs(tmp_path, "# ours", HEADER, "asq3,24,communication,abc,37.50")

    error = refused_cutoffs(path)

    assert error.errors == {"line 3.cutoff": ["Not a valid number."]}


def test_a_monitoring_zone_that_ends_below_its_cutoff_is_refused(tmp_path):
    path = write_cutoffs(tmp_path, HEADER, "asq3,24,communication,25.00,20.00")

    error = refused_cutoffs(path)

    assert list(error.errors) == ["line 2.monitoring_to"]


def test_an_asq3_row_needs_its_monitoring_zone(tmp_path):
    path = write_cutoffs(tmp_path, HEADER, "asq3,24,communication,25.00,")

    error = refused_cutoffs(path)

    assert error.errors == {"line 2.monitoring_to": ["Missing data for required field."]}


def test_a_domain_the_instrument_does_not_have_is_refused(tmp_path):
    path = write_cutoffs(tmp_path, HEADER, "asq3,24,vision,25.00,37.50")

    error = refused_cutoffs(path)

    assert list(error.errors) == ["line 2.domain"]


def test_an_interval_the_instrument_does_not_have_is_refused(tmp_path):
    path = write_cutoffs(tmp_path, HEADER, "asqse2,4,total,40.00,")

    error = refused_cutoffs(path)

    assert list(error.errors) == ["line 2.interval"]


def test_a_row_for_an_instrument_that_is_not_asq_is_refused(tmp_path):
    path = write_cutoffs(tmp_path, HEADER, "phq9,24,total,10,")

    error = refused_cutoffs(path)

    assert list(error.errors) == ["line 2.instrument"]


def test_a_repeated_row_is_refused(tmp_path):
    path = write_cutoffs(
        tmp_path, HEADER, "asqse2,24,total,65.00,", "# again:", "asqse2,24,total,60.00,"
    )

    error = refused_cutoffs(path)

    assert error.errors == {"line 4.domain": ["Repeats line 2."]}


def test_a_file_missing_a_row_is_refused_naming_the_row(tmp_path):
    lines = EXAMPLE_CUTOFFS_FILE.read_text(encoding="utf-8").splitlines()
    path = write_cutoffs(tmp_path, *[line for line in lines if line != "asqse2,36,total,75.00,"])

    error = refused_cutoffs(path)

    assert error.errors == {"asqse2.36.total": ["No row: every interval and domain needs one."]}


def test_a_file_with_other_columns_is_refused(tmp_path):
    path = write_cutoffs(tmp_path, "instrument,interval,domain,cutoff", "asqse2,24,total,65")

    error = refused_cutoffs(path)

    assert list(error.errors) == ["header"]


def test_a_spreadsheet_s_byte_order_mark_is_not_part_of_the_header(tmp_path):
    lines = EXAMPLE_CUTOFFS_FILE.read_text(encoding="utf-8").splitlines()[1:]
    path = tmp_path / "from_excel.csv"
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")

    assert load_cutoffs(path).get("asqse2", 2, "total") == Cutoff(30.0, None)


def test_cutoffs_are_checked_against_a_deployment_s_instruments_too(tmp_path):
    # The deployment's folder adds a sum-scored screen: it needs no cutoffs, the file loads.
    instruments = load_instruments(TEST_INSTRUMENTS)

    assert load_cutoffs(EXAMPLE_CUTOFFS_FILE, instruments).is_example
