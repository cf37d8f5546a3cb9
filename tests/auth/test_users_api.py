"""/users, as each role meets it: who sees whom, who may add and change whom, and the rules a
user record keeps (one supervisor of the same agency, unique emails, no password ever shown),
with the list envelope, versions and problem+json of every record endpoint."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from hvcase.auth.models import User
from hvcase.extensions import db
from tests.api import assert_problem
from tests.factories import PASSWORD, UserFactory

ROLES = ("home_visitor", "supervisor", "agency_admin", "fiscal_host", "admin")
NON_ADMIN_ROLES = ROLES[:-1]
MAY_NOT_MANAGE = ("home_visitor", "supervisor", "fiscal_host")
USER_FIELDS = {
    "id",
    "email",
    "name",
    "role",
    "agency_id",
    "supervisor_id",
    "active",
    "version",
    "created_at",
}
NEW_PASSWORD = "a long enough password"


def user_of(coalition, role: str) -> User:
    """The member of the coalition who plays ``role`` (agency ``a`` for agency staff)."""
    return {
        "home_visitor": coalition.a.visitor,
        "supervisor": coalition.a.supervisor,
        "agency_admin": coalition.a.admin,
        "fiscal_host": coalition.fiscal_host,
        "admin": coalition.admin,
    }[role]


def staff(team) -> set[str]:
    return {str(u.id) for u in (team.admin, team.supervisor, team.visitor, team.other_visitor)}


def ids(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["id"] for item in response.get_json()["items"]}


def new_user(**fields) -> dict:
    return {
        "email": "new.person@example.org",
        "name": "New Person",
        "role": "home_visitor",
        "password": NEW_PASSWORD,
        **fields,
    }


def users_with_email(email: str) -> int:
    return db.session.scalar(select(func.count()).where(User.email == email))


def fresh(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


# --- Who sees whom ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lists_the_users_of_its_agency_and_an_admin_all(coalition, api_as, role):
    expected = {
        "home_visitor": staff(coalition.a),
        "supervisor": staff(coalition.a),
        "agency_admin": staff(coalition.a),
        "fiscal_host": {str(coalition.fiscal_host.id), str(coalition.lead_admin.id)},
        "admin": staff(coalition.a)
        | staff(coalition.b)
        | staff(coalition.other)
        | {str(u.id) for u in (coalition.fiscal_host, coalition.lead_admin, coalition.admin)},
    }[role]

    response = api_as(user_of(coalition, role)).get("/users")

    assert ids(response) == expected
    assert response.get_json()["total"] == len(expected)


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_a_user_of_another_agency_is_a_404_for_every_role_but_admin(coalition, api_as, role):
    api = api_as(user_of(coalition, role))
    outsiders = [coalition.b.visitor, coalition.other.admin, coalition.admin]
    if role == "fiscal_host":
        outsiders.append(coalition.a.visitor)  # a member agency's staff are not the host's
    else:
        outsiders.append(coalition.fiscal_host)

    for outsider in outsiders:
        body = assert_problem(api.get(f"/users/{outsider.id}"), 404)
        # Exactly what an id that exists nowhere gets.
        assert body == assert_problem(api.get(f"/users/{uuid.uuid4()}"), 404)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_a_colleague(coalition, api_as, role):
    me = user_of(coalition, role)
    colleague = coalition.lead_admin if role == "fiscal_host" else coalition.a.other_visitor

    response = api_as(me).get(f"/users/{colleague.id}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == str(colleague.id)
    assert set(body) == USER_FIELDS
    assert response.headers["ETag"] == f'"{body["version"]}"'


def test_an_admin_reads_anyone(coalition, api_as):
    admin = api_as(coalition.admin)
    for user in (coalition.other.visitor, coalition.fiscal_host, coalition.admin):
        assert admin.get(f"/users/{user.id}").get_json()["id"] == str(user.id)


def test_a_malformed_id_in_the_path_is_a_404(coalition, api_as):
    admin = api_as(coalition.admin)
    assert_problem(admin.get("/users/not-a-uuid"), 404)
    assert_problem(admin.get("/users/12345"), 404)
    assert_problem(admin.patch("/users/not-a-uuid", json={"name": "x"}), 404)


# --- Who may add and change users ----------------------------------------------------------


@pytest.mark.parametrize("role", MAY_NOT_MANAGE)
def test_roles_that_do_not_manage_users_may_not_create_or_change_them(coalition, api_as, role):
    api = api_as(user_of(coalition, role))
    colleague = coalition.lead_admin if role == "fiscal_host" else coalition.a.other_visitor

    assert_problem(api.post("/users", json=new_user()), 403)
    # The role is what answers, before the body or the record.
    assert_problem(api.post("/users", json={}), 403)
    assert_problem(api.patch(f"/users/{colleague.id}", json={"name": "Renamed"}), 403)
    assert_problem(api.patch(f"/users/{coalition.b.visitor.id}", json={"name": "x"}), 403)
    assert_problem(api.patch(f"/users/{user_of(coalition, role).id}", json={"name": "x"}), 403)

    assert users_with_email("new.person@example.org") == 0
    assert fresh(colleague).name != "Renamed"


def test_an_agency_admin_adds_a_home_visitor_to_their_agency(coalition, api_as):
    admin = api_as(coalition.a.admin)

    response = admin.post(
        "/users",
        json=new_user(email="New.Person@Example.ORG", supervisor_id=str(coalition.a.supervisor.id)),
    )

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "new.person@example.org"
    assert body["agency_id"] == str(coalition.a.agency.id)
    assert body["supervisor_id"] == str(coalition.a.supervisor.id)
    assert body["active"] is True
    assert body["version"] == 1
    assert response.headers["ETag"] == '"1"'
    assert admin.get(f"/users/{body['id']}").get_json() == body
    # The new user can sign in with the password the admin chose.
    login = admin.client.post(
        "/api/v1/auth/login", json={"email": "new.person@example.org", "password": NEW_PASSWORD}
    )
    assert login.status_code == 200


def test_a_client_may_choose_the_new_users_id(coalition, api_as):
    chosen = uuid.uuid4()

    response = api_as(coalition.a.admin).post("/users", json=new_user(id=str(chosen)))

    assert response.status_code == 201
    assert response.get_json()["id"] == str(chosen)


@pytest.mark.parametrize("role", ["home_visitor", "supervisor", "agency_admin"])
def test_an_agency_admin_may_give_the_agency_roles(coalition, api_as, role):
    response = api_as(coalition.a.admin).post("/users", json=new_user(role=role))
    assert response.status_code == 201
    assert response.get_json()["role"] == role


def test_an_agency_admin_adds_users_to_their_own_agency_only(coalition, api_as):
    admin = api_as(coalition.a.admin)

    response = admin.post("/users", json=new_user(agency_id=str(coalition.b.agency.id)))

    assert_problem(response, 403, "agency_id")
    assert ids(admin.get("/users?role=home_visitor")) == {
        str(coalition.a.visitor.id),
        str(coalition.a.other_visitor.id),
    }
    own = admin.post("/users", json=new_user(agency_id=str(coalition.a.agency.id)))
    assert own.status_code == 201


def test_an_agency_admin_may_not_make_an_admin(coalition, api_as):
    response = api_as(coalition.a.admin).post("/users", json=new_user(role="admin"))
    assert_problem(response, 403)


def test_a_fiscal_host_belongs_to_a_lead_agency(coalition, api_as):
    member_admin = api_as(coalition.a.admin)
    lead_admin = api_as(coalition.lead_admin)

    assert_problem(member_admin.post("/users", json=new_user(role="fiscal_host")), 403)
    response = lead_admin.post("/users", json=new_user(role="fiscal_host"))
    assert response.status_code == 201
    assert response.get_json()["agency_id"] == str(coalition.lead.id)


def test_an_admin_adds_users_anywhere_and_names_the_agency(coalition, api_as):
    admin = api_as(coalition.admin)

    assert_problem(admin.post("/users", json=new_user()), 422, "agency_id")
    response = admin.post("/users", json=new_user(agency_id=str(coalition.other.agency.id)))
    assert response.status_code == 201
    assert response.get_json()["agency_id"] == str(coalition.other.agency.id)
    assert_problem(
        admin.post("/users", json=new_user(email="y@example.org", agency_id=str(uuid.uuid4()))),
        422,
        "agency_id",
    )


def test_an_admin_belongs_to_no_agency(coalition, api_as):
    admin = api_as(coalition.admin)

    response = admin.post("/users", json=new_user(role="admin"))

    assert response.status_code == 201
    assert response.get_json()["agency_id"] is None
    assert_problem(
        admin.post(
            "/users",
            json=new_user(email="z@example.org", role="admin", agency_id=str(coalition.lead.id)),
        ),
        422,
        "agency_id",
    )


def test_an_agency_admin_changes_a_user_of_their_agency(coalition, api_as):
    admin = api_as(coalition.a.admin)

    response = admin.patch(
        f"/users/{coalition.a.visitor.id}", json={"name": "Dana Reyes", "role": "supervisor"}
    )

    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["role"], body["supervisor_id"]) == ("Dana Reyes", "supervisor", None)
    assert fresh(coalition.a.visitor).role == "supervisor"


def test_an_agency_admin_may_not_reach_another_agencys_user(coalition, api_as):
    admin = api_as(coalition.a.admin)

    for outsider in (coalition.b.visitor, coalition.fiscal_host, coalition.admin):
        assert_problem(admin.patch(f"/users/{outsider.id}", json={"name": "Renamed"}), 404)
        assert fresh(outsider).name != "Renamed"


def test_an_agency_admin_may_not_promote_anyone_to_admin_or_fiscal_host(coalition, api_as):
    admin = api_as(coalition.a.admin)
    visitor = coalition.a.visitor

    assert_problem(admin.patch(f"/users/{visitor.id}", json={"role": "admin"}), 403)
    assert_problem(admin.patch(f"/users/{visitor.id}", json={"role": "fiscal_host"}), 403)
    assert fresh(visitor).role == "home_visitor"


def test_a_lead_agency_admin_manages_its_fiscal_host(coalition, api_as):
    response = api_as(coalition.lead_admin).patch(
        f"/users/{coalition.fiscal_host.id}", json={"name": "Fiscal Host"}
    )
    assert response.status_code == 200
    assert response.get_json()["name"] == "Fiscal Host"


def test_a_users_agency_cannot_change(coalition, api_as):
    response = api_as(coalition.admin).patch(
        f"/users/{coalition.a.visitor.id}", json={"agency_id": str(coalition.b.agency.id)}
    )

    assert_problem(response, 422, "agency_id")
    assert fresh(coalition.a.visitor).agency_id == coalition.a.agency.id


def test_a_supervisor_who_still_supervises_cannot_be_demoted(coalition, api_as):
    response = api_as(coalition.a.admin).patch(
        f"/users/{coalition.a.supervisor.id}", json={"role": "home_visitor"}
    )

    assert_problem(response, 409)
    assert fresh(coalition.a.supervisor).role == "supervisor"


# --- The rules a user record keeps --------------------------------------------------------


def a_bad_supervisor(coalition, what: str) -> uuid.UUID:
    if what == "inactive supervisor":
        return UserFactory(role="supervisor", agency=coalition.a.agency, active=False).id
    return {
        "another agency's supervisor": coalition.b.supervisor.id,
        "home visitor": coalition.a.other_visitor.id,
        "agency admin": coalition.a.admin.id,
        "nobody": uuid.uuid4(),
    }[what]


@pytest.mark.parametrize(
    "what",
    [
        "another agency's supervisor",
        "inactive supervisor",
        "home visitor",
        "agency admin",
        "nobody",
    ],
)
def test_a_supervisor_must_be_an_active_supervisor_of_the_same_agency(coalition, api_as, what):
    admin = api_as(coalition.a.admin)
    supervisor_id = str(a_bad_supervisor(coalition, what))

    created = admin.post("/users", json=new_user(supervisor_id=supervisor_id))
    changed = admin.patch(f"/users/{coalition.a.visitor.id}", json={"supervisor_id": supervisor_id})

    assert_problem(created, 422, "supervisor_id")
    assert_problem(changed, 422, "supervisor_id")
    assert fresh(coalition.a.visitor).supervisor_id == coalition.a.supervisor.id
    assert users_with_email("new.person@example.org") == 0


def test_only_home_visitors_have_a_supervisor(coalition, api_as):
    response = api_as(coalition.a.admin).post(
        "/users", json=new_user(role="supervisor", supervisor_id=str(coalition.a.supervisor.id))
    )
    assert_problem(response, 422, "supervisor_id")


def test_a_home_visitor_moves_to_another_supervisor_of_the_agency(coalition, api_as):
    second = UserFactory(role="supervisor", agency=coalition.a.agency)

    response = api_as(coalition.a.admin).patch(
        f"/users/{coalition.a.visitor.id}", json={"supervisor_id": str(second.id)}
    )

    assert response.status_code == 200
    assert response.get_json()["supervisor_id"] == str(second.id)


@pytest.mark.parametrize(
    "email", ["a.hv@example.org", "A.HV@EXAMPLE.ORG", "b.hv@example.org", "Root@Example.org"]
)
def test_an_email_in_use_in_any_case_is_a_409(coalition, api_as, email):
    admin = api_as(coalition.a.admin)

    assert_problem(admin.post("/users", json=new_user(email=email)), 409)
    assert_problem(
        admin.patch(f"/users/{coalition.a.other_visitor.id}", json={"email": email}), 409
    )
    assert fresh(coalition.a.other_visitor).email == "a.hv2@example.org"


@pytest.mark.parametrize("role", ["agency_admin", "admin"])
def test_no_response_ever_carries_a_password_or_its_hash(coalition, api_as, role):
    api = api_as(user_of(coalition, role))
    agency = {"agency_id": str(coalition.a.agency.id)}
    created = api.post("/users", json=new_user(**agency))
    user_id = created.get_json()["id"]
    responses = [
        created,
        api.get("/users"),
        api.get(f"/users/{user_id}"),
        api.patch(f"/users/{user_id}", json={"password": "another long password"}),
        api.get("/me"),
    ]
    stored_hash = db.session.get(User, uuid.UUID(user_id)).password_hash

    for response in responses:
        assert response.status_code in (200, 201)
        text = response.get_data(as_text=True)
        assert "password" not in text
        assert "$argon2" not in text
        assert stored_hash not in text
        assert NEW_PASSWORD not in text


# --- Lists ---------------------------------------------------------------------------------


def test_users_filter_by_role_active_and_supervisor(coalition, api_as):
    admin = api_as(coalition.a.admin)
    gone = UserFactory(role="home_visitor", agency=coalition.a.agency, active=False)

    assert ids(admin.get("/users?role=home_visitor")) == {
        str(coalition.a.visitor.id),
        str(coalition.a.other_visitor.id),
        str(gone.id),
    }
    assert ids(admin.get("/users?active=false")) == {str(gone.id)}
    assert str(gone.id) not in ids(admin.get("/users?active=true"))
    assert ids(admin.get(f"/users?supervisor_id={coalition.a.supervisor.id}")) == {
        str(coalition.a.visitor.id),
        str(coalition.a.other_visitor.id),
    }
    assert ids(admin.get("/users?role=supervisor&active=true")) == {str(coalition.a.supervisor.id)}


def test_a_filter_naming_someone_out_of_scope_gives_an_empty_list(coalition, api_as):
    response = api_as(coalition.a.admin).get(f"/users?supervisor_id={coalition.b.supervisor.id}")

    assert response.status_code == 200
    assert response.get_json() == {"items": [], "page": 1, "per_page": 50, "total": 0}


@pytest.mark.parametrize(
    "query, field",
    [
        ("role=king", "role"),
        ("active=perhaps", "active"),
        ("supervisor_id=not-a-uuid", "supervisor_id"),
        ("page=0", "page"),
        ("per_page=0", "per_page"),
        ("per_page=201", "per_page"),
        ("per_page=ten", "per_page"),
    ],
)
def test_bad_query_parameters_are_a_422_naming_them(coalition, api_as, query, field):
    assert_problem(api_as(coalition.a.admin).get(f"/users?{query}"), 422, field)


def test_users_come_a_page_at_a_time_newest_first(coalition, api_as):
    admin = api_as(coalition.admin)
    everyone = admin.get("/users?per_page=200").get_json()
    assert everyone["total"] == 15
    assert everyone["per_page"] == 200

    pages = [admin.get(f"/users?per_page=4&page={n}").get_json() for n in (1, 2, 3, 4, 5)]

    assert [len(p["items"]) for p in pages] == [4, 4, 4, 3, 0]
    for n, page in enumerate(pages, start=1):
        assert set(page) == {"items", "page", "per_page", "total"}
        assert (page["page"], page["per_page"], page["total"]) == (n, 4, 15)
    in_pages = [item["id"] for page in pages for item in page["items"]]
    assert in_pages == [item["id"] for item in everyone["items"]]
    created = [item["created_at"] for item in everyone["items"]]
    assert created == sorted(created, reverse=True)


# --- Versions and bodies --------------------------------------------------------------------


def test_a_stale_if_match_is_a_412_and_changes_nothing(coalition, api_as):
    admin = api_as(coalition.a.admin)
    path = f"/users/{coalition.a.visitor.id}"
    assert admin.patch(path, json={"name": "First"}).get_json()["version"] == 2

    response = admin.patch(path, json={"name": "Second"}, headers={"If-Match": '"1"'})

    assert_problem(response, 412)
    current = admin.get(path).get_json()
    assert (current["name"], current["version"]) == ("First", 2)


def test_the_right_if_match_applies_the_change_and_moves_the_version(coalition, api_as):
    admin = api_as(coalition.a.admin)
    path = f"/users/{coalition.a.visitor.id}"
    etag = admin.get(path).headers["ETag"]
    assert etag == '"1"'

    response = admin.patch(path, json={"name": "Renamed"}, headers={"If-Match": etag})

    assert response.status_code == 200
    assert response.get_json()["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert admin.get(path).headers["ETag"] == '"2"'


def test_a_patch_that_changes_nothing_keeps_the_version(coalition, api_as):
    admin = api_as(coalition.a.admin)
    visitor = coalition.a.visitor

    response = admin.patch(f"/users/{visitor.id}", json={"name": visitor.name, "active": True})

    assert response.status_code == 200
    assert response.get_json()["version"] == 1


def test_a_client_may_send_back_what_it_received(coalition, api_as):
    admin = api_as(coalition.a.admin)
    path = f"/users/{coalition.a.visitor.id}"
    record = admin.get(path).get_json()

    response = admin.patch(
        path,
        json={**record, "name": "Renamed", "version": 99, "created_at": "2000-01-01T00:00:00Z"},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Renamed"
    assert body["version"] == 2
    assert body["created_at"] == record["created_at"]
    created = admin.post(
        "/users", json=new_user(version=7, created_at="2000-01-01T00:00:00Z", updated_at=None)
    )
    assert created.status_code == 201
    assert created.get_json()["version"] == 1
    assert not created.get_json()["created_at"].startswith("2000")


def test_an_unknown_field_is_a_422_naming_it(coalition, api_as):
    admin = api_as(coalition.a.admin)

    assert_problem(admin.post("/users", json=new_user(nickname="Dee")), 422, "nickname")
    assert_problem(
        admin.patch(f"/users/{coalition.a.visitor.id}", json={"password_hash": "x"}),
        422,
        "password_hash",
    )
    assert_problem(
        admin.patch(f"/users/{coalition.a.visitor.id}", json={"version": 3, "colour": "red"}),
        422,
        "colour",
    )


def test_a_users_fields_are_checked(coalition, api_as):
    admin = api_as(coalition.a.admin)

    body = assert_problem(
        admin.post(
            "/users",
            json={"email": "not an email", "name": "", "role": "boss", "password": "short"},
        ),
        422,
        "email",
        "name",
        "role",
        "password",
    )
    assert set(body["errors"]) == {"email", "name", "role", "password"}


def test_a_missing_body_is_a_400_and_an_empty_object_a_422_naming_the_required_fields(
    coalition, api_as
):
    admin = api_as(coalition.a.admin)

    assert_problem(admin.post("/users"), 400)  # API.md: an empty body is a 400
    assert_problem(admin.post("/users", json={}), 422, "email", "name", "role", "password")


def test_wrong_types_are_a_422_naming_the_field(coalition, api_as):
    admin = api_as(coalition.a.admin)

    body = assert_problem(
        admin.post("/users", json=new_user(name=5, active="maybe", supervisor_id=7)),
        422,
        "name",
        "active",
        "supervisor_id",
    )
    assert "email" not in body["errors"]
    assert_problem(
        admin.patch(f"/users/{coalition.a.visitor.id}", json={"active": "nope"}), 422, "active"
    )


@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null"])
def test_a_body_that_is_not_an_object_is_a_422(coalition, api_as, body):
    response = api_as(coalition.a.admin).post("/users", data=body, content_type="application/json")
    assert_problem(response, 422)


def test_malformed_json_is_a_400(coalition, api_as):
    response = api_as(coalition.a.admin).post(
        "/users", data='{"email": "x@example.org",', content_type="application/json"
    )
    assert_problem(response, 400)


def test_a_body_that_is_not_json_is_a_415(coalition, api_as):
    admin = api_as(coalition.a.admin)

    form = admin.post("/users", data={"email": "x@example.org", "name": "X"})
    text = admin.patch(f"/users/{coalition.a.visitor.id}", data="name=X", content_type="text/plain")

    assert_problem(form, 415)
    assert_problem(text, 415)
    assert fresh(coalition.a.visitor).name != "X"


def test_a_body_over_two_mebibytes_is_a_413(coalition, api_as):
    big = '{"name": "' + "x" * (2 * 1024 * 1024) + '"}'

    response = api_as(coalition.a.admin).post("/users", data=big, content_type="application/json")

    assert_problem(response, 413)


def test_unknown_paths_and_methods(coalition, api_as):
    admin = api_as(coalition.admin)

    assert_problem(admin.get("/userz"), 404)
    assert_problem(admin.get(f"/users/{coalition.a.visitor.id}/friends"), 404)
    not_allowed = assert_problem(admin.delete(f"/users/{coalition.a.visitor.id}"), 405)
    assert not_allowed["detail"]
    response = admin.put("/users", json={})
    assert_problem(response, 405)
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert fresh(coalition.a.visitor) is not None


def test_the_password_is_checked_with_the_rest_of_the_body(coalition, api_as):
    admin = api_as(coalition.a.admin)
    assert_problem(admin.post("/users", json=new_user(password="p" * 129)), 422, "password")
    assert admin.post("/users", json=new_user(password=PASSWORD)).status_code == 201


def test_refusals_come_in_the_contracts_order(coalition, api_as):
    admin = api_as(coalition.a.admin)
    visitor = f"/users/{coalition.a.visitor.id}"
    stale = {"If-Match": '"7"'}

    # The record's scope (404) before If-Match (412), a field the role may not set (403) before
    # If-Match, and If-Match before the body (422).
    assert_problem(admin.patch(f"/users/{coalition.b.visitor.id}", json={}, headers=stale), 404)
    assert_problem(admin.patch(visitor, json={"role": "admin"}, headers=stale), 403)
    assert_problem(admin.patch(visitor, json={"name": "", "colour": 1}, headers=stale), 412)
    assert_problem(admin.patch(visitor, json={"name": "", "colour": 1}), 422, "name", "colour")


def test_a_nul_character_anywhere_in_the_body_is_a_422_naming_the_field(coalition, api_as):
    admin = api_as(coalition.a.admin)

    created = admin.post("/users", json=new_user(name="Dana\x00Reyes"))
    changed = admin.patch(f"/users/{coalition.a.visitor.id}", json={"name": "\x00"})

    assert_problem(created, 422, "name")
    assert_problem(changed, 422, "name")
    assert users_with_email("new.person@example.org") == 0
    assert fresh(coalition.a.visitor).name != "\x00"
