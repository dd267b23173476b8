"""Bad input to the API gets a clear 4xx JSON error, never a 500."""

import json
import re

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
        ("", "application/json"),
    ],
)
def test_malformed_bodies_get_400(client, data, content_type):
    for path in ("/api/codes", "/api/login"):
        response = client.post(path, data=data, content_type=content_type)
        assert response.status_code == 400
        assert error_code(response) == "invalid_json"


NOT_JSON = [
    ("channel=email&target=a%40example.com", "application/x-www-form-urlencoded"),
    ('{"channel": "email"}', "text/plain"),  # what a cross-site form can send
    ("--x--\r\n", "multipart/form-data; boundary=x"),
    ("", None),  # no body and no type: a no-cors fetch from another page
]


def test_every_write_under_api_takes_only_json(app, admin):
    """Read from the URL map, so a new route cannot forget it: another page of
    the same site (another port) could otherwise post with the admin's cookie."""
    writes = [
        (method, re.sub(r"<[^>]+>", "1", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
    ]
    assert len(writes) >= 20
    for method, path in writes:
        for data, content_type in NOT_JSON:
            if method == "DELETE" and not data:
                continue  # a DELETE may carry no body (below)
            response = admin.open(path, method=method, data=data, content_type=content_type)
            assert response.status_code == 415, (method, path, content_type, response.data)
            assert error_code(response) == "unsupported_media_type"


@pytest.mark.integration
def test_a_delete_needs_no_body(app, admin):
    """As curl -X DELETE and most clients send it (RFC 9110); with a body, it is JSON."""
    from tests.helpers import add_banners

    first, second, third = add_banners(app, "One", "Two", "Three")
    assert admin.delete(f"/api/admin/banners/{first}").status_code == 204
    empty_json = admin.delete(f"/api/admin/banners/{second}", content_type=JSON)
    assert empty_json.status_code == 204, empty_json.json
    form = admin.delete(f"/api/admin/banners/{third}", data="a=1", content_type=FORM)
    assert form.status_code == 415
    assert admin.delete(f"/api/admin/banners/{third}", json={"a": 1}).status_code == 400
    assert admin.delete(f"/api/admin/banners/{third}").status_code == 204
    assert admin.delete(f"/api/admin/banners/{third}").status_code == 404
    for method in ("POST", "PUT", "PATCH"):  # the other writes still need their JSON
        assert admin.open("/api/admin/banners/order", method=method).status_code in (405, 415)


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


# What a probe of the running product sent, and got 500 for, before.

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SALE = {
    "title": "Sale",
    "product": "Thing",
    "price_cents": 100,
    "total_stock": 1,
    "starts_at": "2030-01-01T10:00:00",
    "ends_at": "2030-01-01T11:00:00",
}


def _json_operations(client) -> list[tuple[str, str]]:
    """(method, path) of every documented operation that reads a JSON body."""
    spec = client.get("/api/openapi.json").json
    return [
        (method, re.sub(r"\{\w+\}", "1", path))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]


def test_json_nested_thousands_deep_is_a_400_everywhere(admin):
    operations = _json_operations(admin)
    assert len(operations) >= 11
    for nesting in ("[" * 30_000, '{"a":' * 5_000):
        for method, path in operations:
            response = admin.open(path, method=method, data=nesting, content_type=JSON)
            if response.status_code != 404:  # sale 1 does not exist: said before the body is read
                assert response.status_code == 400, (method, path)
                assert error_code(response) == "invalid_json"


@pytest.mark.integration
@pytest.mark.parametrize("big", [2**31, 2**63, 2**64, 10**40])
def test_ids_too_big_for_any_column_are_404(admin, big):
    for method, path in [
        ("GET", "/api/seckill/activities/{}"),
        ("POST", "/api/seckill/{}"),
        ("POST", "/api/seckill/orders/{}/pay"),
        ("PATCH", "/api/admin/sales/{}"),
        ("POST", "/api/admin/sales/{}/close"),
        ("GET", "/api/admin/sales/{}/orders"),
        ("PATCH", "/api/admin/banners/{}"),
        ("DELETE", "/api/admin/banners/{}"),
        ("GET", "/seckill/{}"),
    ]:
        response = admin.open(path.format(big), method=method, json={})
        assert response.status_code == 404, (method, path, big)


TEXT_FIELDS = [("\ud800", "lone surrogate"), ("a\x00b", "NUL"), ("two\nlines", "newline")]


@pytest.mark.integration
@pytest.mark.parametrize(("text", "what"), TEXT_FIELDS)
def test_text_no_database_can_store_is_refused(admin, text, what):
    # json.dumps escapes a lone surrogate as \ud800, as an attacker's client sends it
    bodies = [
        ("/api/admin/banners", {"title": text, "image_url": "/static/a.svg"}),
        ("/api/admin/sales", {**SALE, "title": text}),
        ("/api/admin/sales", {**SALE, "product": text}),
    ]
    for path, body in bodies:
        response = admin.post(path, data=json.dumps(body), content_type=JSON)
        assert response.status_code == 400, (path, what)
        assert error_code(response) == "invalid_field"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("field", "moment"),
    [
        ("starts_at", "0001-01-01T00:00:00"),
        ("ends_at", "9999-12-31T23:59:59-12:00"),
        ("starts_at", "1999-12-31T23:59:59+00:00"),
    ],
)
def test_sale_times_out_of_range_are_refused(admin, field, moment):
    response = admin.post("/api/admin/sales", json={**SALE, field: moment})
    assert response.status_code == 400
    assert "between the years" in response.json["error"]["message"]
