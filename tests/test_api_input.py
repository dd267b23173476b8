"""Bad input to the code API gets a clear 4xx JSON error, never a 500."""

import pytest


def error_code(response) -> str:
    assert response.is_json, response.data
    return response.json["error"]["code"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_field"),
        ({"channel": "email"}, "missing_field"),
        ({"target": "a@example.com"}, "missing_field"),
        ({"channel": "fax", "target": "a@example.com"}, "invalid_channel"),
        ({"channel": 1, "target": "a@example.com"}, "invalid_field"),
        ({"channel": "email", "target": ["a@example.com"]}, "invalid_field"),
        ({"channel": "email", "target": "not-an-address"}, "invalid_target"),
        ({"channel": "email", "target": "a" * 400 + "@example.com"}, "invalid_field"),
        ({"channel": "sms", "target": "12345"}, "invalid_target"),
        ({"channel": "sms", "target": "+86 138"}, "invalid_target"),
        ({"channel": "email", "target": "a@example.com", "purpose": "reset"}, "invalid_purpose"),
        ({"channel": "email", "target": "a@example.com", "purpose": None}, "invalid_purpose"),
    ],
)
def test_code_requests_with_bad_fields_get_400(client, body, code):
    response = client.post("/api/codes", json=body)
    assert response.status_code == 400
    assert error_code(response) == code


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('"a string"', "application/json"),
        ("channel=email", "application/x-www-form-urlencoded"),
        ("", "application/json"),
    ],
)
def test_malformed_bodies_get_400(client, data, content_type):
    for path in ("/api/codes", "/api/login"):
        response = client.post(path, data=data, content_type=content_type)
        assert response.status_code == 400
        assert error_code(response) == "invalid_json"


def test_a_huge_body_is_refused_as_too_large(client):
    body = '{"channel": "email", "target": "' + "a" * 200_000 + '"}'
    response = client.post("/api/codes", data=body, content_type="application/json")
    assert response.status_code == 413
    assert error_code(response) == "request_entity_too_large"


@pytest.mark.parametrize(
    "body",
    [
        {"target": "a@example.com"},
        {"target": "a@example.com", "code": "12345"},
        {"target": "a@example.com", "code": "1234567"},
        {"target": "a@example.com", "code": "12a456"},
        {"target": "a@example.com", "code": 123456},
        {"target": "a@example.com", "code": None},
    ],
)
def test_login_with_a_malformed_code_gets_400(client, body):
    response = client.post("/api/login", json=body)
    assert response.status_code == 400
    assert error_code(response) == "invalid_code_format"


@pytest.mark.parametrize("target", [None, "", 5, "nobody", "+86 1"])
def test_login_with_a_bad_target_gets_400(client, target):
    response = client.post("/api/login", json={"target": target, "code": "123456"})
    assert response.status_code == 400
    assert error_code(response) in {"missing_field", "invalid_field", "invalid_target"}


def test_unknown_api_paths_and_methods_answer_json(client):
    assert error_code(client.get("/api/nothing-here")) == "not_found"
    assert error_code(client.get("/api/codes")) == "method_not_allowed"


def test_task_status_of_an_unknown_task_is_404(client):
    response = client.get("/api/tasks/does-not-exist")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert client.get("/api/tasks/" + "x" * 500).status_code == 404


def test_me_without_login_is_401(client):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert error_code(response) == "not_logged_in"
