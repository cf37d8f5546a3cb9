from tests.api import assert_problem


def test_me_answers_the_signed_in_user(coalition, api_as):
    response = api_as(coalition.a.visitor).get("/me")
    assert response.status_code == 200
    assert response.get_json()["email"] == "a.hv@example.org"


def test_signed_out_is_401(client):
    assert_problem(client.get("/api/v1/me"), 401)
