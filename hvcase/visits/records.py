"""Visits as a kind of the write pipeline (hvcase/common/records.py), with the batch that
creates a tablet's new visits together. Importing this module registers it."""

from __future__ import annotations

from hvcase.common.records import Kind, NewBatch, register
from hvcase.visits import services
from hvcase.visits.models import Visit
from hvcase.visits.schemas import VisitInSchema, VisitSchema

VISIT = register(
    Kind(
        name="visit",
        model=Visit,
        rank=3,
        body=VisitInSchema(),
        current=VisitSchema(),
        pulled=VisitSchema(),
        find=services.get_visit,
        upsert=services.put_visit,
        void=services.void_visit,
        find_many=services.visits_in_scope,
        new_batch=NewBatch(
            parents=lambda user, bodies: services.families_for(
                user, {body["family_id"] for body in bodies}
            ),
            parent_of=lambda body: body["family_id"],
            build=services.new_visit,
            save=services.save_new_visits,
        ),
    )
)
