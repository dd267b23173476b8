"""The banner admin API's answers to bad input, and who may use it."""

import pytest

from tests.helpers import add_banners

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "body, code",
    [
        ({"image_url": "/a.svg"}, "missing_field"),
        ({"title": "x" * 101, "image_url": "/a.svg"}, "invalid_field"),
        ({"title": 5, "image_url": "/a.svg"}, "invalid_field"),
        ({"title": "x", "image_url": "javascript:alert(1)"}, "invalid_url"),
        ({"title": "x", "image_url": "data:image/png;base64,AAAA"}, "invalid_url"),
        ({"title": "x", "image_url": "ftp://files.test/a.png"}, "invalid_url"),
        ({"title": "x", "image_url": "//evil.test/a.png"}, "invalid_url"),
        ({"title": "x", "image_url": "/\\evil.test/a.png"}, "invalid_url"),
        ({"title": "x", "image_url": "/a.svg", "link_url": "/\\evil.test/x"}, "invalid_url"),
        ({"title": "x", "image_url": "https://img.test/a b.png"}, "invalid_url"),
        ({"title": "x", "image_url": "https://" + "a" * 500}, "invalid_field"),
        ({"title": "x", "image_url": "/a.svg", "link_url": "mailto:a@b.c"}, "invalid_url"),
        ({"title": "x", "image_url": "/a.svg", "position": "1"}, "invalid_field"),
        ({"title": "x", "image_url": "/a.svg", "position": True}, "invalid_field"),
        ({"title": "x", "image_url": "/a.svg", "position": -1}, "invalid_field"),
        ({"title": "x", "image_url": "/a.svg", "position": 1.5}, "invalid_field"),
        ({"title": "x", "image_url": "/a.svg", "is_show": "yes"}, "invalid_field"),
        ({"title": "x", "image_url": "/a.svg", "colour": "red"}, "unknown_field"),
        ([], "invalid_json"),
    ],
)
def test_bad_banners_get_a_clear_400(admin, body, code):
    response = admin.post("/api/admin/banners", json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert admin.get("/api/admin/banners").json["banners"] == [], "nothing was written"


def test_an_emptied_link_is_no_link(app, admin):
    (banner,) = add_banners(app, "a")
    assert admin.patch(f"/api/admin/banners/{banner}", json={"link_url": "/x"}).status_code == 200
    response = admin.patch(f"/api/admin/banners/{banner}", json={"link_url": ""})
    assert response.status_code == 200
    assert response.json["banner"]["link_url"] is None


def test_bad_edits_and_orders_get_a_clear_error(app, admin):
    first, second = add_banners(app, "a", "b")
    assert (
        admin.patch(f"/api/admin/banners/{first}", data="{", content_type="application/json").json[
            "error"
        ]["code"]
        == "invalid_json"
    )
    assert admin.patch(f"/api/admin/banners/{first}", json={"title": ""}).status_code == 400
    assert admin.patch("/api/admin/banners/999", json={"title": "x"}).status_code == 404
    assert admin.delete("/api/admin/banners/999", json={}).status_code == 404
    for ids in ([first], [first, first, second], [first, "2"], "1,2", None):
        response = admin.put("/api/admin/banners/order", json={"ids": ids})
        assert response.status_code == 400
        assert response.json["error"]["code"] == "invalid_order"
    assert admin.put("/api/admin/banners/order", data="x").status_code == 415


def test_only_admins_may_edit(app, client, login_as):
    paths = [
        ("get", "/api/admin/banners"),
        ("post", "/api/admin/banners"),
        ("patch", "/api/admin/banners/1"),
        ("delete", "/api/admin/banners/1"),
        ("put", "/api/admin/banners/order"),
    ]
    for method, path in paths:
        response = getattr(client, method)(path, json={})
        assert response.status_code == 401
        assert response.json["error"]["code"] == "not_logged_in"
    page = client.get("/admin/banners")
    assert page.status_code == 302 and "/login?next=" in page.headers["Location"]

    login_as("shopper@example.com")
    for method, path in paths:
        response = getattr(client, method)(path, json={})
        assert response.status_code == 403
        assert response.json["error"]["code"] == "forbidden"
    assert client.get("/admin/banners").status_code == 403
