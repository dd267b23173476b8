"""Someone hammering an address cannot keep its owner from logging in, and the
number of codes sent to it stays bounded. Real app, worker and SMTP server;
attacker and owner are separate browsers on separate addresses."""

from __future__ import annotations

import base64
import json

import altcha
import pytest

from blueprints.auth.service import code_store
from exts import limiter
from tests.helpers import follow_task, wait_for
from tests.test_code_rules import Clock

pytestmark = pytest.mark.integration

VICTIM = "victim@example.com"


@pytest.fixture
def clock(app, monkeypatch):
    """The code store's clock, so an hour of hammering takes no time."""
    clock = Clock()
    with app.app_context():
        monkeypatch.setattr(code_store(), "clock", clock)
    return clock


def browser(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def ask(client, target: str = VICTIM):
    """Ask for a code as the login page does, solving a challenge if one is set."""
    body = {"channel": "email", "target": target}
    response = client.post("/api/codes", json=body)
    if response.status_code == 428:
        response = client.post("/api/codes", json={**body, "proof": solve(response.json)})
    return response


def solve(answer: dict) -> str:
    challenge = answer["challenge"]
    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    fields = ("algorithm", "challenge", "salt", "signature")
    payload = {**{name: challenge[name] for name in fields}, "number": solution.number}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def log_in(client, mailbox, since) -> int:
    code = mailbox.last_code_for(VICTIM, since=since)
    return client.post("/api/login", json={"target": VICTIM, "code": code}).status_code


def test_an_attacker_at_the_caps_does_not_lock_the_owner_out(app, worker, mailbox, clock):
    attacker = browser(app, "203.0.113.66")
    refusals, sends = [], []
    for _ in range(12):  # a code a minute, for twelve minutes
        with app.app_context():
            limiter.reset()  # past the per-IP limit: this test is about the address's caps
        response = ask(attacker)
        if response.status_code == 202:
            sends.append(response.json["task_id"])
        else:
            refusals.append(response.json["error"]["code"])
        clock.advance(61)
    assert refusals and set(refusals) == {"too_many_codes"}, refusals
    for task_id in sends:  # their mails are out before the owner's, not mixed with it
        follow_task(attacker, task_id)

    owner = browser(app, "198.51.100.7")
    mark = mailbox.mark()
    first = owner.post("/api/codes", json={"channel": "email", "target": VICTIM})
    assert first.status_code == 428, "the address is hot: a proof of work first"
    assert first.json["error"]["code"] == "challenge_required"
    assert ask(owner).status_code == 202
    assert log_in(owner, mailbox, mark) == 200


def test_the_owner_on_a_new_device_behind_the_attacker_s_ip_waits_ten_minutes_at_most(
    app, worker, mailbox, clock
):
    """A shared office or campus NAT: the attacker solves the proof of work as
    often as it takes; the owner's new laptop on that IP waits out one window."""
    attacker = browser(app, "203.0.113.66")
    for _ in range(5):
        response = ask(attacker)
        assert response.status_code == 202
        follow_task(attacker, response.json["task_id"])  # mailed before the owner's
        clock.advance(61)
    with app.app_context():
        limiter.reset()  # this test is about the address's caps; the IP's: below
    owner = browser(app, "203.0.113.66")
    refused = ask(owner)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_codes"
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 600
    clock.advance(wait)
    mark = mailbox.mark()
    assert ask(owner).status_code == 202
    assert log_in(owner, mailbox, mark) == 200


def test_the_per_ip_limit_holds_no_one_up_longer_than_ten_minutes(app):
    from limits import parse_many

    for item in parse_many(app.config["CODE_IP_LIMIT"]):
        assert item.get_expiry() <= 600, item


def test_the_owner_s_device_gets_past_a_flood_from_many_addresses(app, worker, mailbox, clock):
    owner = browser(app, "198.51.100.7")
    mark = mailbox.mark()
    assert ask(owner).status_code == 202
    assert log_in(owner, mailbox, mark) == 200
    owner.post("/api/logout", json={})
    clock.advance(61)

    ceiling = app.config["CODE_TARGET_MAX_PER_DAY"]
    flood = mailbox.mark()
    answers = [ask(browser(app, f"203.0.113.{n}")).status_code for n in range(ceiling + 5)]
    assert answers.count(202) == ceiling - 1, "the owner's send counts too: the bill is bounded"
    assert answers[-1] == 429
    wait_for(lambda: mailbox.mark() - flood == ceiling - 1, message="the flood's mails")
    stranger = ask(browser(app, "192.0.2.1"))
    assert stranger.json["error"]["code"] == "target_limit"

    mark = mailbox.mark()
    again = owner.post("/api/codes", json={"channel": "email", "target": VICTIM})
    assert again.status_code == 202, "a device the owner logged in on before"
    assert log_in(owner, mailbox, mark) == 200


def test_a_proof_of_work_counts_once(app, worker, clock):
    client = browser(app, "203.0.113.9")
    for n in range(app.config["CODE_CHALLENGE_CLIENT"]):
        with app.app_context():
            limiter.reset()  # past the per-IP limit of 5 a minute
        assert ask(client, f"user{n}@example.com").status_code == 202
    challenged = client.post("/api/codes", json={"channel": "email", "target": "a@example.com"})
    assert challenged.status_code == 428
    proof = solve(challenged.json)
    body = {"channel": "email", "target": "a@example.com", "proof": proof}
    assert client.post("/api/codes", json=body).status_code == 202
    again = client.post("/api/codes", json={**body, "target": "b@example.com"})
    assert again.status_code == 428, "a used proof is no proof"
    forged = {**body, "target": "c@example.com", "proof": base64.b64encode(b"{}").decode()}
    assert client.post("/api/codes", json=forged).status_code == 428
