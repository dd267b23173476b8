"""SMS providers through their real SDKs, against a local server that answers like them."""

import json
import time

import pytest

from blueprints.auth import sms
from blueprints.auth.errors import PermanentSendError, TransientSendError
from devtools import free_port
from tests.helpers import follow_task, request_code
from tests.sms_gateway import SmsGateway, aliyun_reply, tencent_error, tencent_status

PHONE = "+8613800138000"


@pytest.fixture(scope="session")
def sms_gateway():
    gateway = SmsGateway(free_port())
    yield gateway
    gateway.stop()


@pytest.fixture
def gateway(app, sms_gateway, monkeypatch):
    """Both providers configured, pointing at the local gateway."""
    sms_gateway.reset()
    settings = {
        "SMS_PROVIDERS": ["tencent", "aliyun"],
        "TENCENT_SMS_ENDPOINT": sms_gateway.url,
        "TENCENT_SMS_SECRET_ID": "test-id",
        "TENCENT_SMS_SECRET_KEY": "test-key",
        "TENCENT_SMS_APP_ID": "1400000000",
        "TENCENT_SMS_SIGN_NAME": "Flash Shop",
        "TENCENT_SMS_TEMPLATE_ID": "1000001",
        "TENCENT_SMS_REMINDER_TEMPLATE_ID": "1000002",
        "ALIYUN_SMS_ENDPOINT": sms_gateway.url,
        "ALIYUN_SMS_ACCESS_KEY_ID": "test-id",
        "ALIYUN_SMS_ACCESS_KEY_SECRET": "test-secret",
        "ALIYUN_SMS_SIGN_NAME": "Flash Shop",
        "ALIYUN_SMS_TEMPLATE_CODE": "SMS_0001",
        "ALIYUN_SMS_REMINDER_TEMPLATE_CODE": "SMS_0002",
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    return sms_gateway


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


def test_tencent_sends_the_code_in_its_template(gateway, app_context):
    sms.TencentSms().send_code(PHONE, "123456")
    request = gateway.requests[-1]
    assert request["headers"]["X-TC-Action"] == "SendSms"
    assert request["headers"]["Authorization"].startswith("TC3-HMAC-SHA256")
    assert request["json"]["PhoneNumberSet"] == [PHONE]
    assert request["json"]["TemplateParamSet"] == ["123456", "5"]
    assert request["json"]["SmsSdkAppId"] == "1400000000"


def test_sale_reminders_go_in_their_own_templates(app, gateway, app_context, monkeypatch):
    assert sms.send_reminder_sms(PHONE, "Keyboard sale", "2026-11-27 20:00") == "tencent"
    tencent = gateway.requests[-1]["json"]
    assert tencent["TemplateId"] == "1000002"
    assert tencent["TemplateParamSet"] == ["Keyboard sale", "2026-11-27 20:00"]
    sms.AliyunSms().send_reminder(PHONE, "Keyboard sale", "2026-11-27 20:00")
    aliyun = gateway.requests[-1]["query"]
    assert aliyun["TemplateCode"] == ["SMS_0002"]
    assert json.loads(aliyun["TemplateParam"][0]) == {
        "title": "Keyboard sale",
        "time": "2026-11-27 20:00",
    }
    # A provider with no reminder template approved cannot send one.
    monkeypatch.setitem(app.config, "TENCENT_SMS_REMINDER_TEMPLATE_ID", None)
    with pytest.raises(PermanentSendError, match="TENCENT_SMS_REMINDER_TEMPLATE_ID"):
        sms.TencentSms().send_reminder(PHONE, "Keyboard sale", "2026-11-27 20:00")


def test_tencent_invalid_number_is_permanent(gateway, app_context):
    gateway.reply(200, tencent_status("InvalidParameterValue.IncorrectPhoneNumber", "bad"))
    with pytest.raises(PermanentSendError):
        sms.TencentSms().send_code(PHONE, "123456")


def test_tencent_throttling_is_transient(gateway, app_context):
    gateway.reply(200, tencent_error("RequestLimitExceeded", "too many requests"))
    with pytest.raises(TransientSendError):
        sms.TencentSms().send_code(PHONE, "123456")


def test_aliyun_sends_mainland_numbers_without_the_country_code(gateway, app_context):
    sms.AliyunSms().send_code(PHONE, "123456")
    request = gateway.requests[-1]
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["x-acs-action"] == "SendSms"
    assert headers["authorization"].startswith("ACS3-HMAC-SHA256")
    assert request["query"]["PhoneNumbers"] == ["13800138000"]
    assert json.loads(request["query"]["TemplateParam"][0]) == {"code": "123456"}


def test_aliyun_invalid_number_is_permanent(gateway, app_context):
    gateway.reply(200, aliyun_reply("isv.MOBILE_NUMBER_ILLEGAL", "invalid number"))
    with pytest.raises(PermanentSendError):
        sms.AliyunSms().send_code(PHONE, "123456")


def test_aliyun_server_errors_and_throttling_are_transient(gateway, app_context):
    gateway.reply(500, {"Code": "InternalError", "Message": "boom", "RequestId": "r"})
    with pytest.raises(TransientSendError):
        sms.AliyunSms().send_code(PHONE, "123456")
    gateway.reply(200, aliyun_reply("isv.BUSINESS_LIMIT_CONTROL", "throttled"))
    with pytest.raises(TransientSendError):
        sms.AliyunSms().send_code(PHONE, "123456")


def test_an_unreachable_provider_is_transient(app, gateway, app_context, monkeypatch):
    monkeypatch.setitem(app.config, "TENCENT_SMS_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientSendError):
        sms.TencentSms().send_code(PHONE, "123456")


def test_failover_to_the_next_provider(gateway, app_context):
    gateway.reply(200, tencent_error("InternalError", "down"))
    assert sms.send_code_sms(PHONE, "123456") == "aliyun"
    assert len(gateway.requests) == 2


def test_the_console_provider_shows_the_code_only_in_debug_or_testing(app, capsys):
    with app.app_context():
        sms.ConsoleSms().send_code(PHONE, "654321")
    assert "654321" in capsys.readouterr().out
    app.testing = False
    try:
        with app.app_context():
            sms.ConsoleSms().send_code(PHONE, "654321")
    finally:
        app.testing = True
    out = capsys.readouterr().out
    assert "654321" not in out and "withheld" in out


def test_unknown_provider_names_are_refused_at_start():
    from app import create_app

    with pytest.raises(ValueError, match="carrier-pigeon"):
        create_app({"SMS_PROVIDERS": ["console", "carrier-pigeon"]})


def code_from_aliyun(gateway, timeout=20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in reversed(gateway.requests):
            if "TemplateParam" in request["query"]:
                return json.loads(request["query"]["TemplateParam"][0])["code"]
        time.sleep(0.05)
    raise AssertionError("no SMS reached the Aliyun gateway")


@pytest.mark.integration
def test_login_by_sms_when_the_first_provider_is_down(client, worker, gateway):
    gateway.reply(200, tencent_error("InternalError", "down"))
    response = request_code(client, "138 0013 8000", channel="sms")
    assert response.status_code == 202
    states, task = follow_task(client, response.json["task_id"])
    assert task["result"] == {"channel": "sms", "to": "+861****00", "provider": "aliyun"}
    code = code_from_aliyun(gateway)

    response = client.post("/api/login", json={"target": "13800138000", "code": code})
    assert response.status_code == 200
    assert response.json["user"]["phone"] == PHONE


@pytest.mark.integration
def test_an_invalid_number_fails_without_retries(client, worker, gateway):
    gateway.reply(200, tencent_status("InvalidParameterValue.IncorrectPhoneNumber", "bad"))
    task_id = request_code(client, PHONE, channel="sms").json["task_id"]
    states, body = follow_task(client, task_id)
    assert "RETRY" not in states
    assert body["state"] == "FAILURE"
    assert "IncorrectPhoneNumber" in body["error"]
    assert len(gateway.requests) == 1
