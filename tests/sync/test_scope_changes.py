"""Scope changes as tablets live them: whatever moves a family out of a caller's scope (a
reassignment, a home visitor's new supervisor, the caller's own role or agency, a voided
family), the tablet that held it receives every record of it as ``removed``, then the family;
whatever moves one in, the tablet receives the family, then everything recorded for it. After
it, each tablet holds exactly what a new device of the same user would pull.

A tablet here is what the app keeps: the changes applied one by one to a dict keyed
(entity, id): data replaces, ``voided`` and ``removed`` drop. After every page, no record it
holds may lack its family."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from hvcase.auth.models import User
from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.families.models import Caregiver, Child, Family
from hvcase.sync.clock import SyncClock
from hvcase.visits.models import Visit
from tests.api import ApiClient, assert_problem
from tests.factories import CaregiverFactory, FamilyFactory, UserFactory, VisitFactory
from tests.sync import counts, household, sync, upsert, visit_of

Shape = tuple[str, str, str]  # (entity, id, "data" | "voided" | "removed")


class Tablet:
    """One device of one user, holding what its pulls gave it."""

    def __init__(self, api: ApiClient, device: str) -> None:
        self.api = api
        self.device = device
        self.cursor: str | None = None
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    def page(self, limit: int = 1000) -> dict[str, Any]:
        """One pull from where the tablet stands; its changes applied, then checked."""
        answer = sync(self.api, cursor=self.cursor, limit=limit, device=self.device)
        self.apply(answer["changes"])
        self.cursor = answer["cursor"]
        return answer

    def pull(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Pages until ``more`` is false: every change, in order."""
        changes: list[dict[str, Any]] = []
        while True:
            answer = self.page(limit)
            changes += answer["changes"]
            if not answer["more"]:
                return changes

    def apply(self, changes: list[dict[str, Any]]) -> None:
        for change in changes:
            key = (change["entity"], change["id"])
            if "data" in change:
                self.records[key] = {"version": change["version"], "data": change["data"]}
            else:  # voided or removed: the app drops it
                self.records.pop(key, None)
        orphans = [
            key
            for key, record in self.records.items()
            if key[0] != "family" and ("family", record["data"]["family_id"]) not in self.records
        ]
        assert orphans == [], "the tablet holds records whose family it lacks"

    def families(self) -> set[str]:
        return {record_id for entity, record_id in self.records if entity == "family"}


@pytest.fixture
def tablet(api_as):
    """``tablet(user, device)``: a device of ``user`` that has pulled everything once."""

    def make(user: User, device: str = "tab-1") -> Tablet:
        device_tablet = Tablet(api_as(user), device)
        device_tablet.pull()
        return device_tablet

    return make


def assert_as_fresh(device_tablet: Tablet) -> None:
    """The tablet holds what a new device of the same user pulls: keys, versions and data."""
    new = Tablet(device_tablet.api, f"new-{uuid.uuid4().hex[:8]}")
    new.pull()
    assert device_tablet.records == new.records


def members(family: Any) -> list[tuple[str, str]]:
    """A family's records, voided ones too, in the order a batch walks them: caregivers,
    children, then visits, each in id order."""
    found: list[tuple[str, str]] = []
    for entity, model in (("caregiver", Caregiver), ("child", Child), ("visit", Visit)):
        ids = sorted(db.session.scalars(select(model.id).where(model.family_id == family.id)))
        found += [(entity, str(i)) for i in ids]
    return found


def removal(*families: Any) -> list[Shape]:
    """What a tablet receives as families leave it: in family id order, each family's
    records, then the family."""
    expected: list[Shape] = []
    for family in sorted(families, key=lambda f: f.id):
        expected += [(entity, i, "removed") for entity, i in members(family)]
        expected.append(("family", str(family.id), "removed"))
    return expected


def arrival(*families: Any) -> list[Shape]:
    """What a tablet receives as families arrive: in family id order, each family, then its
    records (a voided one as ``voided``)."""
    expected: list[Shape] = []
    for family in sorted(families, key=lambda f: f.id):
        expected.append(("family", str(family.id), "data"))
        for entity, record_id in members(family):
            model = {"caregiver": Caregiver, "child": Child, "visit": Visit}[entity]
            record = db.session.get(model, uuid.UUID(record_id))
            expected.append((entity, record_id, "voided" if record.voided_at else "data"))
    return expected


def shapes(changes: list[dict[str, Any]]) -> list[Shape]:
    """The changes as (entity, id, kind), each checked to be exactly one kind."""
    found: list[Shape] = []
    for change in changes:
        if "data" in change:
            assert set(change) == {"entity", "id", "version", "data"}, change
            found.append((change["entity"], change["id"], "data"))
        else:
            assert len(change) == 3 and (change.get("voided") or change.get("removed")), change
            found.append(
                (change["entity"], change["id"], next(iter(set(change) - {"entity", "id"})))
            )
    return found


@pytest.fixture
def world(coalition) -> SimpleNamespace:
    """Agency a's staff with a second supervisor (``s2``) and her home visitor (``hv3``), and
    their families: ``f`` (the home visitor's, two caregivers, two children, three visits and a
    voided one), ``k`` (hers too), ``o`` (her colleague's), ``p`` (the supervisor's own), ``g``
    (``hv3``'s), ``u`` (unassigned), and ``b`` of agency b."""
    a = coalition.a
    s2 = UserFactory(role="supervisor", agency=a.agency, email="a.sup2@example.org")
    hv3 = UserFactory(
        role="home_visitor", agency=a.agency, supervisor_id=s2.id, email="a.hv3@example.org"
    )
    f = FamilyFactory(home_visitor=a.visitor, children=2)
    CaregiverFactory(family=f, relationship_to_child="father")
    f_visits = [VisitFactory(family=f) for _ in range(3)]
    VisitFactory(family=f, voided_at=utcnow(), void_reason="Logged twice")
    k = FamilyFactory(home_visitor=a.visitor)
    k_visit = VisitFactory(family=k)
    g = FamilyFactory(home_visitor=hv3, children=1)
    VisitFactory(family=g)
    return SimpleNamespace(
        coalition=coalition,
        a=a,
        s2=s2,
        hv3=hv3,
        f=f,
        f_visits=f_visits,
        k=k,
        k_visit=k_visit,
        o=FamilyFactory(home_visitor=a.other_visitor, children=1),
        p=FamilyFactory(home_visitor=a.supervisor),
        g=g,
        u=FamilyFactory(agency=a.agency),
        b=FamilyFactory(home_visitor=coalition.b.visitor),
    )


def clock(agency: Any) -> int:
    """The agency's last change number."""
    return db.session.scalar(select(SyncClock.value).where(SyncClock.agency_id == agency.id))


def ids(*families: Any) -> set[str]:
    return {str(f.id) for f in families}


def assign(api: ApiClient, family: Any, user: User) -> None:
    response = api.post(f"/families/{family.id}/assignment", json={"home_visitor_id": str(user.id)})
    assert response.status_code == 200, response.get_json()


def patch_user(api: ApiClient, user: User, body: dict[str, Any]) -> None:
    response = api.patch(f"/users/{user.id}", json=body)
    assert response.status_code == 200, response.get_json()


# --- Each cause ----------------------------------------------------------------------------


def test_a_family_reassigned_to_another_supervisors_visitor_moves_between_four_tablets(
    world, api_as, tablet
):
    a = world.a
    visitor, supervisor = tablet(a.visitor), tablet(a.supervisor)
    new_visitor, new_supervisor = tablet(world.hv3), tablet(world.s2)
    assert visitor.families() == ids(world.f, world.k)
    assert new_visitor.families() == ids(world.g)

    assign(api_as(a.admin), world.f, world.hv3)

    assert shapes(visitor.pull()) == removal(world.f)
    assert shapes(supervisor.pull()) == removal(world.f)
    assert shapes(new_visitor.pull()) == arrival(world.f)
    assert shapes(new_supervisor.pull()) == arrival(world.f)
    assert visitor.families() == ids(world.k)
    assert supervisor.families() == ids(world.k, world.o, world.p)
    assert new_visitor.families() == new_supervisor.families() == ids(world.f, world.g)
    for device_tablet in (visitor, supervisor, new_visitor, new_supervisor):
        assert_as_fresh(device_tablet)


def test_a_home_visitor_given_another_supervisor_takes_her_families_along(world, api_as, tablet):
    a = world.a
    old_supervisor, new_supervisor = tablet(a.supervisor), tablet(world.s2)

    patch_user(api_as(a.admin), a.visitor, {"supervisor_id": str(world.s2.id)})

    assert shapes(old_supervisor.pull()) == removal(world.f, world.k)
    assert shapes(new_supervisor.pull()) == arrival(world.f, world.k)
    assert old_supervisor.families() == ids(world.o, world.p)
    assert new_supervisor.families() == ids(world.f, world.g, world.k)
    assert_as_fresh(old_supervisor)
    assert_as_fresh(new_supervisor)


def test_a_home_visitors_new_supervisor_changes_nothing_on_her_own_tablet(world, api_as, tablet):
    visitor = tablet(world.a.visitor)
    held = dict(visitor.records)

    patch_user(api_as(world.a.admin), world.a.visitor, {"supervisor_id": str(world.s2.id)})
    answer = visitor.page()

    assert (answer["changes"], answer["more"]) == ([], False)
    assert visitor.records == held
    assert_as_fresh(visitor)


def test_a_home_visitor_made_supervisor_gains_the_families_of_those_she_supervises(
    world, api_as, tablet
):
    """Made supervisor, she loses her own supervisor (s2's tablet drops her family); given a
    home visitor to supervise, her tablet gains that visitor's family, and the visitor's old
    supervisor's tablet drops it."""
    a, admin = world.a, api_as(world.a.admin)
    promoted, her_old_supervisor, old_supervisor = (
        tablet(world.hv3),
        tablet(world.s2),
        tablet(a.supervisor),
    )

    patch_user(admin, world.hv3, {"role": "supervisor"})
    patch_user(admin, a.other_visitor, {"supervisor_id": str(world.hv3.id)})

    assert shapes(promoted.pull()) == arrival(world.o)
    assert shapes(her_old_supervisor.pull()) == removal(world.g)
    assert shapes(old_supervisor.pull()) == removal(world.o)
    assert promoted.families() == ids(world.g, world.o)
    assert her_old_supervisor.families() == set()
    assert old_supervisor.families() == ids(world.f, world.k, world.p)
    for device_tablet in (promoted, her_old_supervisor, old_supervisor):
        assert_as_fresh(device_tablet)


def test_a_supervisor_made_agency_admin_gains_the_agency(world, api_as, tablet):
    """Her home visitors go to s2 first (a supervisor who still supervises anyone cannot
    change role); her tablet, not synced meanwhile, then gains every family of the agency it
    lacked and loses none; s2's tablet gains her former visitors' families."""
    a, admin = world.a, api_as(world.a.admin)
    promoted, other_supervisor = tablet(a.supervisor), tablet(world.s2)

    for visitor in (a.visitor, a.other_visitor):
        patch_user(admin, visitor, {"supervisor_id": str(world.s2.id)})
    patch_user(admin, a.supervisor, {"role": "agency_admin"})

    assert shapes(promoted.pull()) == arrival(world.g, world.u)
    assert shapes(other_supervisor.pull()) == arrival(world.f, world.k, world.o)
    assert promoted.families() == ids(world.f, world.k, world.o, world.p, world.g, world.u)
    assert_as_fresh(promoted)
    assert_as_fresh(other_supervisor)


def test_a_home_visitor_moved_to_another_agency_loses_everything_then_gains_the_new_one(
    world, api_as, tablet
):
    """PATCH /users refuses ``agency_id`` (a user's agency cannot change through the API), but
    a deployment can still move a user by hand (a data fix, two agencies merged), and her
    tablet's positions are numbers of the old agency's clock: the move is made in the database
    directly, and the tablet must drop every old family, then receive the new agency's."""
    a, b = world.a, world.coalition.b
    visitor = tablet(a.visitor)
    refused = api_as(world.coalition.admin).patch(
        f"/users/{a.visitor.id}", json={"agency_id": str(b.agency.id)}
    )
    assert_problem(refused, 422, "agency_id")

    moved = db.session.get(User, a.visitor.id)
    moved.agency_id, moved.supervisor_id = b.agency.id, None
    db.session.commit()
    new_families = [FamilyFactory(home_visitor=moved, children=1) for _ in range(2)]
    VisitFactory(family=new_families[0])

    assert shapes(visitor.pull()) == removal(world.f, world.k) + arrival(*new_families)
    assert visitor.families() == ids(*new_families)
    assert_as_fresh(visitor)

    # Her position is now a number of agency b's clock, which is behind agency a's: a later
    # edit in agency b still reaches her tablet.
    assert clock(b.agency) < clock(a.agency)
    edited = VisitFactory(family=new_families[1])
    response = api_as(b.admin).patch(f"/visits/{edited.id}", json={"notes": "Office note"})
    assert response.status_code == 200, response.get_json()
    assert shapes(visitor.pull()) == [("visit", str(edited.id), "data")]
    assert_as_fresh(visitor)


def test_a_voided_family_leaves_every_tablet_that_held_it(world, api_as, tablet):
    a = world.a
    visitor, supervisor, admin = tablet(a.visitor), tablet(a.supervisor), tablet(a.admin)

    response = api_as(a.supervisor).delete(f"/families/{world.f.id}")
    assert response.status_code == 200, response.get_json()

    for device_tablet in (visitor, supervisor, admin):
        assert shapes(device_tablet.pull()) == removal(world.f)
        assert str(world.f.id) not in device_tablet.families()
        assert_as_fresh(device_tablet)


# --- Pages ---------------------------------------------------------------------------------


def moves(world, api_as) -> list[Shape]:
    """Her family ``f`` goes to hv3, hv3's ``g`` comes to her, and the office edits a visit of
    ``k``, which she keeps: what her tablet must then receive, in order."""
    admin = api_as(world.a.admin)
    assign(admin, world.f, world.hv3)
    assign(admin, world.g, world.a.visitor)
    response = admin.patch(f"/visits/{world.k_visit.id}", json={"notes": "Office note"})
    assert response.status_code == 200, response.get_json()
    return [*removal(world.f), ("visit", str(world.k_visit.id), "data"), *arrival(world.g)]


@pytest.mark.parametrize("limit", [1, 2])
def test_removals_and_arrivals_split_over_pages_keep_their_order(world, api_as, tablet, limit):
    """Every page is checked as it lands (``Tablet.apply``): no record without its family."""
    whole, paged = tablet(world.a.visitor, "tab-whole"), tablet(world.a.visitor, "tab-paged")
    expected = moves(world, api_as)
    assert len(expected) == 14

    pages = []
    while True:
        answer = paged.page(limit)
        pages.append(answer)
        if not answer["more"]:
            break

    assert [shapes(p["changes"]) for p in pages] == [
        expected[i : i + limit] for i in range(0, len(expected), limit)
    ]
    assert [p["more"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert shapes(whole.pull()) == expected
    assert paged.records == whole.records
    assert paged.families() == ids(world.k, world.g)
    assert_as_fresh(paged)


def test_a_family_that_leaves_while_arriving_and_returns_during_its_removal_arrives_anew(
    world, api_as, tablet
):
    """``g`` arrives over pages; half sent, it leaves, and its removal is itself split over
    pages; before the removal ends it comes back. The removal ends (the tablet drops all of
    it), and ``g`` then arrives again from its family on, never as the rest of the arrival
    that was under way (records whose family the tablet no longer holds)."""
    admin = api_as(world.a.admin)
    hers = tablet(world.a.visitor)
    assign(admin, world.g, world.a.visitor)
    assert shapes(hers.page(limit=2)["changes"]) == arrival(world.g)[:2]  # g, a caregiver

    assign(admin, world.g, world.hv3)
    assert shapes(hers.page(limit=1)["changes"]) == removal(world.g)[:1]  # that caregiver
    assign(admin, world.g, world.a.visitor)
    changes = hers.pull()  # every page checked: no record without its family

    assert shapes(changes) == removal(world.g)[1:] + arrival(world.g)
    assert world.g.id in {uuid.UUID(i) for i in hers.families()}
    assert_as_fresh(hers)


# --- Replayed pulls ------------------------------------------------------------------------


def test_a_pull_sent_twice_answers_the_same_and_so_does_an_older_cursor_later(
    world, api_as, tablet
):
    """A tablet that lost a response sends the same cursor again; one restored from a backup
    sends an older one. Nothing is written meanwhile, so each answers what it answered."""
    visitor = tablet(world.a.visitor)
    expected = moves(world, api_as)
    answered: list[tuple[str, dict]] = []
    cursor = visitor.cursor
    while True:
        first = sync(visitor.api, cursor=cursor, limit=2, device=visitor.device)
        again = sync(visitor.api, cursor=cursor, limit=2, device=visitor.device)
        assert (again["changes"], again["more"]) == (first["changes"], first["more"])
        answered.append((cursor, first))
        visitor.apply(again["changes"])
        cursor = again["cursor"]  # the replay's cursor carries on as the first's would
        if not again["more"]:
            break

    assert shapes([c for _, answer in answered for c in answer["changes"]]) == expected
    visitor.cursor = cursor
    assert_as_fresh(visitor)
    for cursor, answer in reversed(answered):
        replay = sync(visitor.api, cursor=cursor, limit=2, device=visitor.device)
        assert (replay["changes"], replay["more"]) == (answer["changes"], answer["more"])


# --- Cursors that are not the device's -----------------------------------------------------


def forged_cursors(api_as, world) -> dict[str, str]:
    other_device = Tablet(api_as(world.a.visitor), "another tablet")
    other_device.pull()
    other_user = Tablet(api_as(world.a.other_visitor), "tab-1")  # the same device name
    other_user.pull()
    return {
        "corrupted": "not a cursor!",
        "never given": "A" * 22,  # well formed: a state id no pull made
        "another device's": other_device.cursor,
        "another user's": other_user.cursor,
    }


def test_a_cursor_the_server_did_not_give_this_device_is_a_422_and_nothing_is_applied(
    world, api_as, tablet
):
    visitor = tablet(world.a.visitor)
    new_visit = str(uuid.uuid4())
    new_family = household(world.a.agency, name="Forged")
    changes = [
        upsert("visit", new_visit, visit_of(world.k.id)),
        upsert("family", new_family["id"], new_family),
    ]
    before = counts()

    for name, cursor in forged_cursors(api_as, world).items():
        response = visitor.api.post(
            "/sync", json={"device_id": "tab-1", "cursor": cursor, "changes": changes}
        )
        assert_problem(response, 422, "cursor")
        assert counts() == before, name

    db.session.expire_all()
    assert db.session.get(Visit, uuid.UUID(new_visit)) is None
    assert db.session.get(Family, uuid.UUID(new_family["id"])) is None
    answer = visitor.page()  # the device's own cursor still answers, with nothing new
    assert (answer["changes"], answer["more"]) == ([], False)
