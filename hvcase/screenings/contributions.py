"""What screenings contribute to a family (families' extension points, STYLE habit 16): the
``screening_overdue`` and ``urgent_screening`` attention reasons and the ``screenings_due`` of
GET of one family; and the upkeep of each child's screening windows. Importing this module
registers them; ``create_app`` imports it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, select

from hvcase.common.time import today_in
from hvcase.extensions import db
from hvcase.families.attention import register_reason
from hvcase.families.details import register_details
from hvcase.families.models import Family
from hvcase.organisations.models import Agency
from hvcase.screenings import windows
from hvcase.screenings.catalog import catalog
from hvcase.screenings.models import Screening, ScreeningWindow

URGENT_FOR_DAYS = 14  # API.md: an urgent screening in the last 14 days


def screening_overdue(today: date, _zone: ZoneInfo) -> ColumnElement[bool]:
    """An enrolled family with a child whose required screening is overdue (its window open,
    past the interval's age) or missed (its window closed), no screening of it recorded, the
    child not yet aged out of the agency's required intervals (API.md). A window that closed
    before the family enrolled does not count: no home visitor could have given it."""
    return (Family.status == "enrolled") & exists().where(
        ScreeningWindow.family_id == Family.id,
        ScreeningWindow.screening_id.is_(None),
        ScreeningWindow.due_on < today,
        ScreeningWindow.window_end >= Family.enrolled_on,
        ScreeningWindow.ages_out_on >= today,
    )


def urgent_screening(today: date, _zone: ZoneInfo) -> ColumnElement[bool]:
    """An urgent screening (PHQ-9 item 9 or EPDS item 10 above 0) in the last 14 days, the
    day of the screening included."""
    return exists().where(
        Screening.family_id == Family.id,
        Screening.urgent.is_(True),
        Screening.voided_at.is_(None),
        Screening.administered_on > today - timedelta(days=URGENT_FOR_DAYS),
    )


def screenings_due(family: Family) -> dict[str, Any]:
    """The family's children's required screenings whose window is open today and not yet
    done, each ``{child_id, instrument, interval, window_start, window_end, status}``
    (``due`` up to the interval's age, ``overdue`` after), soonest closing first."""
    agency = db.session.get(Agency, family.agency_id)
    today = today_in(agency.timezone)
    rows = db.session.execute(
        select(ScreeningWindow)
        .where(
            ScreeningWindow.family_id == family.id,
            ScreeningWindow.screening_id.is_(None),
            ScreeningWindow.window_start <= today,
            ScreeningWindow.window_end >= today,
        )
        .order_by(ScreeningWindow.window_end, ScreeningWindow.child_id, ScreeningWindow.instrument)
    ).scalars()
    return {
        "screenings_due": [
            {
                "child_id": str(window.child_id),
                "instrument": window.instrument,
                "interval": window.interval,
                "window_start": window.window_start.isoformat(),
                "window_end": window.window_end.isoformat(),
                "status": "due" if today <= window.due_on else "overdue",
            }
            for window in rows
        ]
    }


register_reason("screening_overdue", screening_overdue)
register_reason("urgent_screening", urgent_screening)
register_details(("screenings_due",), screenings_due)
windows.watch(lambda: catalog().instruments)
