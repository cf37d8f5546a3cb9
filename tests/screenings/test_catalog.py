"""The app loads its instruments and ASQ cutoffs when it starts: the shipped ones, a
deployment's own folder of instruments, and its licensed cutoffs file; a bad file stops it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvcase import create_app
from hvcase.screenings.catalog import EXTENSION
from hvcase.screenings.instruments import EXAMPLE_CUTOFFS_FILE, DataFileError

TEST_INSTRUMENTS = Path(__file__).parent / "data" / "instruments"


def started(tmp_path: Path, **settings: str):
    return create_app("testing", {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", **settings})


def test_the_shipped_instruments_and_the_example_cutoffs_by_default(tmp_path):
    catalog = started(tmp_path).extensions[EXTENSION]
    assert set(catalog.instruments) == {"asq3", "asqse2", "phq9", "epds", "ipv"}
    assert catalog.cutoffs.is_example


def test_a_deployment_adds_an_instrument_by_adding_a_file(tmp_path):
    catalog = started(tmp_path, INSTRUMENTS_DIR=str(TEST_INSTRUMENTS)).extensions[EXTENSION]
    assert "stress4" in catalog.instruments
    assert {"asq3", "phq9"} <= set(catalog.instruments)


def test_the_agency_s_own_cutoffs_file_is_used_and_not_taken_for_the_example(tmp_path):
    licensed = tmp_path / "licensed.csv"
    lines = EXAMPLE_CUTOFFS_FILE.read_text().splitlines()
    licensed.write_text("\n".join(line for line in lines if not line.startswith("#")) + "\n")
    catalog = started(tmp_path, ASQ_CUTOFFS_FILE=str(licensed)).extensions[EXTENSION]
    assert not catalog.cutoffs.is_example


def test_a_bad_cutoffs_file_stops_the_start_naming_it(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text("instrument,interval,domain,cutoff,monitoring_to\nasq3,2,communication,x,\n")
    with pytest.raises(DataFileError) as stopped:
        started(tmp_path, ASQ_CUTOFFS_FILE=str(broken))
    assert "broken.csv" in str(stopped.value)
