"""Code login end to end: a real worker mails a real code through SMTP."""

import pytest
from celery.signals import before_task_publish

from blueprints.auth.keys import OUTBOX
from blueprints.auth.service import CodeRules, CodeStore, login_user_for, seal
from blueprints.auth.tasks import send_code_email
from exts import redis_client
from tests.helpers import follow_task, request_code
from tests.mailbox import text_part
from tests.seckill_helpers import http, open_sale, session_cookie

pytestmark = pytest.mark.integration


def test_a_user_logs_in_with_the_code_from_the_mail(client, worker, mailbox):
    response = request_code(client, "New.User@Example.com")
    assert response.status_code == 202
    assert response.json["resend_after"] == 60

    mail = mailbox.wait_for("new.user@example.com")
    assert "5 minutes" in mail["Subject"]
    assert "5 minutes" in text_part(mail)
    assert {part.get_content_type() for part in mail.walk()} >= {"text/plain", "text/html"}
    code = mailbox.last_code_for("new.user@example.com")

    response = client.post("/api/login", json={"target": "new.user@example.com", "code": code})
    assert response.status_code == 200
    assert response.json["user"]["email"] == "new.user@example.com"
    assert client.get("/api/me").json["user"]["email"] == "new.user@example.com"


def test_the_first_login_creates_the_account_and_later_ones_reuse_it(app, login_as):
    user = login_as("repeat@example.com")
    with app.app_context():
        assert login_user_for("repeat@example.com").id == user["id"]
        assert login_user_for("+8613800138000").id != user["id"]


def test_a_code_works_only_once(client, worker, mailbox):
    request_code(client, "once@example.com")
    code = mailbox.last_code_for("once@example.com")
    assert (
        client.post("/api/login", json={"target": "once@example.com", "code": code}).status_code
        == 200
    )
    again = client.application.test_client().post(
        "/api/login", json={"target": "once@example.com", "code": code}
    )
    assert again.status_code == 400
    assert again.json["error"]["code"] == "invalid_code"


def test_unknown_used_and_other_browsers_codes_get_one_generic_error(client, app, worker, mailbox):
    request_code(client, "generic@example.com")
    code = mailbox.last_code_for("generic@example.com")
    answers = {
        client.post("/api/login", json={"target": "never-asked@example.com", "code": code}).data,
    }
    login = {"target": "generic@example.com", "code": code}
    answers.add(app.test_client().post("/api/login", json=login).data)  # another browser
    assert client.post("/api/login", json=login).status_code == 200
    answers.add(client.post("/api/login", json=login).data)  # used
    assert len(answers) == 1
    assert b"no longer works" in answers.pop()


def test_a_mistyped_code_says_how_many_tries_are_left(client, worker, mailbox):
    request_code(client, "typo@example.com")
    code = mailbox.last_code_for("typo@example.com")
    wrong = {"target": "typo@example.com", "code": f"{(int(code) + 1) % 1_000_000:06d}"}
    messages = []
    for _ in range(3):
        answer = client.post("/api/login", json=wrong)
        assert (answer.status_code, answer.json["error"]["code"]) == (400, "wrong_code")
        messages.append(answer.json["error"]["message"])
    assert messages == [f"That code is not right. You can try {n} more times." for n in (4, 3, 2)]
    assert client.post("/api/login", json=wrong).json["error"]["message"].endswith("1 more time.")
    last = client.post("/api/login", json=wrong).json["error"]
    assert (last["code"], last["field"]) == ("invalid_code", "code")
    assert last["message"] == "That was the last try for this code. Ask for a new one."
    right = client.post("/api/login", json={"target": "typo@example.com", "code": code})
    assert right.status_code == 400, "a burnt code stays burnt"


def test_login_rotates_the_session_and_sets_safe_cookie_flags(client, worker, mailbox):
    request_code(client, "cookie@example.com")  # the anonymous session now has an owner id
    before = client.get_cookie("session").value
    code = mailbox.last_code_for("cookie@example.com")
    response = client.post("/api/login", json={"target": "cookie@example.com", "code": code})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get_cookie("session").value != before

    assert client.post("/api/logout", json={}).status_code == 204
    assert client.get("/api/me").status_code == 401


def test_the_answer_does_not_tell_whether_an_account_exists(app, worker):
    with app.app_context():
        login_user_for("known@example.com")  # an account, and no code sent to it yet
    known = request_code(app.test_client(), "known@example.com")
    unknown = request_code(app.test_client(), "unknown@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json["resend_after"] == unknown.json["resend_after"]
    assert set(known.json) == set(unknown.json) == {"task_id", "resend_after"}


def test_resend_within_the_cooldown_gets_429_with_retry_after(client, worker):
    assert request_code(client, "wait@example.com").status_code == 202
    response = request_code(client, "wait@example.com")
    assert response.status_code == 429
    assert response.json["error"]["code"] == "cooldown"
    assert 55 <= int(response.headers["Retry-After"]) <= 60


def test_one_client_ip_is_limited_across_many_targets(client, worker):
    statuses = [request_code(client, f"user{n}@example.com").status_code for n in range(7)]
    assert statuses[:5] == [202] * 5
    assert statuses[5] == 429
    response = request_code(client, "user99@example.com")
    assert response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_the_code_is_not_in_the_task_message(client, worker, mailbox):
    published: list[tuple[str, str]] = []

    def capture(sender=None, body=None, **kwargs):
        published.append((sender, repr(body)))

    before_task_publish.connect(capture, weak=False)
    try:
        request_code(client, "sealed@example.com")
        # The dispatcher publishes the send task in the worker: wait for the mail.
        code = mailbox.last_code_for("sealed@example.com")
    finally:
        before_task_publish.disconnect(capture)
    sends = [body for sender, body in published if sender == "auth.send_code_email"]
    assert sends, published
    assert all(code not in body for _, body in published)


def test_task_status_is_only_for_the_session_that_queued_it(client, app, worker, mailbox):
    task_id = request_code(client, "owner@example.com").json["task_id"]
    states, body = follow_task(client, task_id)
    assert states[-1] == "SUCCESS"
    assert body["result"] == {"channel": "email", "to": "o***@example.com"}
    assert app.test_client().get(f"/api/tasks/{task_id}").status_code == 404


def test_the_browser_that_queued_a_send_still_reads_it_after_logging_in(client, worker, mailbox):
    task_id = request_code(client, "after@example.com").json["task_id"]
    code = mailbox.last_code_for("after@example.com")
    assert client.post("/api/login", json={"target": "after@example.com", "code": code}).json
    assert client.get(f"/api/tasks/{task_id}").json["state"] == "SUCCESS"


def test_a_non_ascii_address_is_refused_clearly_or_sent_in_its_ascii_form(client, worker, mailbox):
    refused = request_code(client, "ünï@exämple.com")
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "invalid_target"
    assert "before the @" in refused.json["error"]["message"]

    accepted = request_code(client, "Anna@Exämple.com")
    assert accepted.status_code == 202
    states, _ = follow_task(client, accepted.json["task_id"])
    assert states[-1] == "SUCCESS"
    code = mailbox.last_code_for("anna@xn--exmple-cua.com")
    login = client.post("/api/login", json={"target": "anna@exämple.com", "code": code})
    assert login.json["user"]["email"] == "anna@xn--exmple-cua.com"


def test_a_flaky_smtp_server_shows_retry_then_success(client, worker, mailbox):
    mailbox.fail_next(2, "421 4.3.0 Try again later")
    task_id = request_code(client, "flaky@example.com").json["task_id"]
    states, _ = follow_task(client, task_id)
    assert "RETRY" in states
    assert states[-1] == "SUCCESS"
    assert mailbox.attempts == 3
    mailbox.last_code_for("flaky@example.com")


def test_a_permanent_smtp_failure_fails_without_retries(client, worker, mailbox):
    mailbox.fail_next(1, "550 5.1.1 No such mailbox")
    task_id = request_code(client, "gone@example.com").json["task_id"]
    states, body = follow_task(client, task_id)
    assert "RETRY" not in states
    assert states[-1] == "FAILURE"
    assert "550" in body["error"]
    assert mailbox.attempts == 1


def test_a_send_redelivered_after_its_code_was_replaced_mails_nothing(app, worker, mailbox):
    address = "replaced@example.com"
    with app.app_context():
        store = CodeStore(redis_client.current, app.config["SECRET_KEY"], CodeRules(cooldown=0))
        old, new = (store.issue("email", address, "login") for _ in range(2))
        redis_client.delete(OUTBOX)  # this test publishes the sends itself

    def send(code: str) -> dict:
        sealed = seal(app.config["SECRET_KEY"], code)
        result = send_code_email.delay(address, sealed, "login")
        return result.get(timeout=30, disable_sync_subtasks=False)

    assert "skipped" in send(old.code)
    assert send(new.code)["to"] == "r***@example.com"
    assert mailbox.last_code_for(address) == new.code
    assert mailbox.mark() == 1, "only the current code was mailed"


def test_a_cookie_copied_before_logout_no_longer_works(app, client, login_as, live_server):
    user = login_as("copied@example.com")
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    activity_id = open_sale(app, 5)
    assert client.post("/api/logout", json={}).status_code == 204

    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get("/api/me").status_code == 401
    assert thief.post(f"/api/seckill/{activity_id}", json={}).status_code == 401
    cookie = f"{app.config['SESSION_COOKIE_NAME']}={stolen}"
    assert http(live_server, "POST", f"/api/seckill/{activity_id}", cookie)[0] == 401
    assert user["email"] == "copied@example.com"


def test_logging_out_everywhere_ends_every_session(app, login_as):
    user = login_as("everywhere@example.com")

    def device():
        client = app.test_client()
        value = session_cookie(app, user["id"]).split("=", 1)[1]  # as its own login would
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
        return client

    laptop, phone = device(), device()
    assert laptop.post("/api/logout", json={}).status_code == 204
    assert laptop.get("/api/me").status_code == 401
    assert phone.get("/api/me").status_code == 200, "a plain logout ends only its own session"

    laptop = device()
    assert laptop.post("/api/logout", json={"everywhere": True}).status_code == 204
    assert phone.get("/api/me").status_code == 401
