"""Every integer a request carries (path, query string, body) is bounded where
it is declared: a number no column holds is a 4xx, never a 500, on every database."""

import re

import pytest

pytestmark = pytest.mark.integration

HUGE = [2**63, -(2**63), 10**30]
# The pages read no numbers from their query strings but this one.
PAGE_QUERY_NUMBERS = [("/orders", "page")]


def api_integers(document: dict) -> list[tuple[str, str, str, str, bool]]:
    """(method, path, where, name, in a list) of every integer the API documents."""
    found = []
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])  # the path's own: its ids
        for method, operation in item.items():
            if method == "parameters":
                continue
            for parameter in shared + operation.get("parameters", []):
                if parameter["schema"].get("type") == "integer":
                    found.append((method, path, parameter["in"], parameter["name"], False))
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            if body:
                properties = schemas[body["$ref"].rsplit("/", 1)[1]].get("properties", {})
                for name, field in properties.items():
                    if field.get("type") == "integer":
                        found.append((method, path, "body", name, False))
                    if field.get("items", {}).get("type") == "integer":
                        found.append((method, path, "body", name, True))
    return found


def page_integers(app) -> list[str]:
    """The pages' numbers, as paths with {}: ids in paths, and page numbers."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") and "<id:" in rule.rule:
            found.append(re.sub(r"<id:\w+>", "{}", rule.rule).replace("<token>", "x"))
    return found + [f"{path}?{name}={{}}" for path, name in PAGE_QUERY_NUMBERS]


@pytest.mark.parametrize("number", HUGE, ids=["2**63", "-2**63", "10**30"])
def test_no_integer_anywhere_is_a_500(app, admin, number):
    document = admin.get("/api/openapi.json").json
    integers = api_integers(document)
    assert len(integers) >= 25, integers
    for method, template, where, name, listed in integers:
        path = template
        for parameter in ("activity_id", "banner_id", "entry_id", "order_id"):
            path = path.replace(f"{{{parameter}}}", str(number) if name == parameter else "1")
        path = path.replace("{task_id}", "x")
        query = {name: str(number)} if where == "query" else None
        body = {name: [number] if listed else number} if where == "body" else {}
        sends_body = method in ("post", "put", "patch")
        answer = admin.open(
            path, method=method.upper(), query_string=query, json=body if sends_body else None
        )
        assert answer.status_code < 500 and answer.is_json, (method, path, where, name, answer.data)
        if where != "path" and answer.status_code != 404:
            assert answer.status_code == 400, (method, path, name, answer.json)

    pages = page_integers(app)
    assert len(pages) >= 3, pages
    for template in pages:
        answer = admin.get(template.format(number))
        path = template
        assert answer.status_code in (200, 404), (path, answer.status_code)
