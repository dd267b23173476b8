"""Proxies, security headers and cookies."""

from __future__ import annotations

import os
import subprocess
import sys

from app import behind_proxies
from config import ROOT
from tests.helpers import request_code


def ask_from(client, address: str, forwarded_for: str):
    body = {"channel": "email", "target": address}
    return client.post("/api/codes", json=body, headers={"X-Forwarded-For": forwarded_for})


def test_a_forged_x_forwarded_for_is_ignored_without_a_trusted_proxy(client, worker):
    statuses = [ask_from(client, f"forged{n}@example.com", f"10.0.0.{n}").status_code
                for n in range(6)]  # fmt: skip
    assert statuses == [202] * 5 + [429], "one client, whatever it claims"


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(app, client, worker, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # restored after the test
    behind_proxies(app)
    statuses = [ask_from(client, f"a{n}@example.com", "203.0.113.7").status_code for n in range(6)]
    assert statuses == [202] * 5 + [429]
    assert ask_from(client, "b@example.com", "198.51.100.9").status_code == 202


def test_pages_and_the_api_send_security_headers(client):
    for path in ("/login", "/api/banners", "/healthz"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_outside_development_http_is_redirected_and_cookies_are_secure(tmp_path):
    # A fresh interpreter with the defaults an operator gets (not testing, not debug).
    check = """
from app import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
client = app.test_client()
plain = client.get("/login")
assert plain.status_code == 302 and plain.headers["Location"].startswith("https://"), plain
secure = client.get("/login", base_url="https://shop.example")
assert "max-age" in secure.headers["Strict-Transport-Security"]
assert app.config["SESSION_COOKIE_SECURE"]
"""
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_DEBUG", "HTTPS")}
    subprocess.run([sys.executable, "-c", check], check=True, env=env, cwd=ROOT)


def test_development_keeps_plain_http_working():
    check = """
from app import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
assert app.debug and not app.config["HTTPS"]
assert app.test_client().get("/login").status_code == 200
"""
    env = {**os.environ, "FLASK_DEBUG": "1"}
    env.pop("HTTPS", None)
    subprocess.run([sys.executable, "-c", check], check=True, env=env, cwd=ROOT)


def test_bad_input_does_not_use_up_the_ip_limit(client, worker):
    for _ in range(6):
        assert request_code(client, "not an address").status_code == 400
    assert request_code(client, "good@example.com").status_code == 202
