"""The deployment's instruments, ASQ cutoffs and observation codes, loaded and checked once
when the app starts (DESIGN.md: rules are data, validated at start-up): the shipped instrument
files, those of ``INSTRUMENTS_DIR``, the cutoffs of ``ASQ_CUTOFFS_FILE`` (the shipped example
by default), and the observation codes of API.md's table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from hvcase.screenings.instruments import (
    EXAMPLE_CUTOFFS_FILE,
    Cutoffs,
    Instrument,
    load_cutoffs,
    load_instruments,
)
from hvcase.screenings.observation_codes import ObservationCode, load_observation_codes

log = logging.getLogger(__name__)
EXTENSION = "hvcase.screenings"


@dataclass(frozen=True)
class Catalog:
    instruments: dict[str, Instrument]
    cutoffs: Cutoffs
    observation_codes: dict[str, ObservationCode]


def init_app(app: Flask) -> None:
    """Load and check the instruments and cutoffs; a bad file stops the start, naming it."""
    folders = [Path(app.config["INSTRUMENTS_DIR"])] if app.config.get("INSTRUMENTS_DIR") else []
    instruments = load_instruments(*folders)
    cutoffs = load_cutoffs(
        Path(app.config.get("ASQ_CUTOFFS_FILE") or EXAMPLE_CUTOFFS_FILE), instruments
    )
    if cutoffs.is_example and app.config["ENV_NAME"] != "testing":
        log.warning(
            "ASQ zones come from the example cutoffs file, which is NOT the licensed values: "
            "set HVCASE_ASQ_CUTOFFS_FILE to the agency's licensed file (docs/instruments.md)."
        )
    app.extensions[EXTENSION] = Catalog(instruments, cutoffs, load_observation_codes())


def catalog() -> Catalog:
    """The current app's instruments and cutoffs."""
    return current_app.extensions[EXTENSION]
