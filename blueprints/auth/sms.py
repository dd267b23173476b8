"""SMS providers behind one small interface, tried in order with failover.

``SMS_PROVIDER`` names them, comma-separated (``tencent,aliyun``). Adding a
provider: a class with ``name``, ``send_code(phone, code)`` and
``send_reminder(phone, title, opens)`` that raise Transient- or
PermanentSendError, registered in PROVIDERS. Real providers send only
templates approved beforehand: one for codes, one for sale reminders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Protocol

from flask import current_app
from flask_babel import gettext

from blueprints.auth.errors import PermanentSendError, SendError, TransientSendError

log = logging.getLogger(__name__)


class SmsProvider(Protocol):
    name: str

    def send_code(self, phone: str, code: str) -> None: ...

    def send_reminder(self, phone: str, title: str, opens: str) -> None: ...


def _template(setting: str) -> str:
    """A template id from the settings; a provider without it cannot send that kind."""
    template = current_app.config.get(setting)
    if not template:
        raise PermanentSendError(f"no SMS template: set {setting}")
    return template


class ConsoleSms:
    """For development: prints the message instead of sending it.

    Outside debug and testing it withholds the code, so production logs never
    hold one even when this provider is left configured.
    """

    name = "console"

    def send_code(self, phone: str, code: str) -> None:
        app = current_app
        shown = code if (app.debug or app.testing) else "(withheld outside debug mode)"
        text = gettext("Your Flash Shop login code is %(code)s.", code=shown)
        print(f"[sms:console] to {phone}: {text}", flush=True)

    def send_reminder(self, phone: str, title: str, opens: str) -> None:
        text = gettext("“%(title)s” opens at %(time)s.", title=title, time=opens)
        print(f"[sms:console] to {phone}: {text}", flush=True)


class TencentSms:
    """Tencent Cloud SMS (SendSms, API 2021-01-11). Extra: ``pip install .[tencent]``."""

    name = "tencent"
    # Codes that no retry and no other provider can fix.
    PERMANENT = (
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",
        "UnsupportedOperation.UnsupportedRegion",
    )

    def send_code(self, phone: str, code: str) -> None:
        minutes = str(current_app.config["CODE_TTL"] // 60)
        self._send(phone, _template("TENCENT_SMS_TEMPLATE_ID"), [code, minutes])

    def send_reminder(self, phone: str, title: str, opens: str) -> None:
        self._send(phone, _template("TENCENT_SMS_REMINDER_TEMPLATE_ID"), [title, opens])

    def _send(self, phone: str, template_id: str, params: list[str]) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import models, sms_client

        config = current_app.config
        endpoint = config["TENCENT_SMS_ENDPOINT"]
        scheme, _, host = endpoint.rpartition("://")
        http = HttpProfile(
            protocol=scheme or "https", endpoint=host, reqTimeout=int(config["SMS_TIMEOUT"])
        )
        client = sms_client.SmsClient(
            credential.Credential(
                config["TENCENT_SMS_SECRET_ID"], config["TENCENT_SMS_SECRET_KEY"]
            ),
            config["TENCENT_SMS_REGION"],
            ClientProfile(httpProfile=http),
        )
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [phone]
        request.SmsSdkAppId = config["TENCENT_SMS_APP_ID"]
        request.SignName = config["TENCENT_SMS_SIGN_NAME"]
        request.TemplateId = template_id
        request.TemplateParamSet = params
        try:
            response = client.SendSms(request)
        except TencentCloudSDKException as error:
            raise self._error(error.code or "", error.message or "") from None
        except OSError as error:
            raise TransientSendError(f"tencent: {error.__class__.__name__}") from None
        status = response.SendStatusSet[0]
        if status.Code != "Ok":
            raise self._error(status.Code, status.Message)

    def _error(self, code: str, message: str) -> SendError:
        kind = PermanentSendError if code.startswith(self.PERMANENT) else TransientSendError
        return kind(f"tencent: {code}: {message}")


class AliyunSms:
    """Aliyun SMS (Dysmsapi 2017-05-25). Extra: ``pip install .[aliyun]``."""

    name = "aliyun"
    PERMANENT = (
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.BLACK_KEY_CONTROL_LIMIT",
    )

    def send_code(self, phone: str, code: str) -> None:
        self._send(phone, _template("ALIYUN_SMS_TEMPLATE_CODE"), {"code": code})

    def send_reminder(self, phone: str, title: str, opens: str) -> None:
        template = _template("ALIYUN_SMS_REMINDER_TEMPLATE_CODE")
        self._send(phone, template, {"title": title, "time": opens})

    def _send(self, phone: str, template_code: str, params: dict[str, str]) -> None:
        from alibabacloud_dysmsapi20170525 import models
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as openapi
        from alibabacloud_tea_util import models as util
        from Tea.exceptions import TeaException

        config = current_app.config
        endpoint = config["ALIYUN_SMS_ENDPOINT"]
        scheme, _, host = endpoint.rpartition("://")
        timeout_ms = int(config["SMS_TIMEOUT"] * 1000)
        client = Client(
            openapi.Config(
                access_key_id=config["ALIYUN_SMS_ACCESS_KEY_ID"],
                access_key_secret=config["ALIYUN_SMS_ACCESS_KEY_SECRET"],
                endpoint=host,
                protocol=scheme or "https",
            )
        )
        request = models.SendSmsRequest(
            # Mainland numbers go without +86; others with their country code.
            phone_numbers=phone[3:] if phone.startswith("+86") else phone[1:],
            sign_name=config["ALIYUN_SMS_SIGN_NAME"],
            template_code=template_code,
            template_param=json.dumps(params, ensure_ascii=False),
        )
        runtime = util.RuntimeOptions(
            read_timeout=timeout_ms, connect_timeout=timeout_ms, autoretry=False
        )
        try:
            response = client.send_sms_with_options(request, runtime)
        except TeaException as error:  # HTTP errors, and network ones as Unretryable
            raise self._error(
                str(error.code or error.__class__.__name__), error.message or ""
            ) from None
        body = response.body
        if body.code != "OK":
            raise self._error(body.code or "", body.message or "")

    def _error(self, code: str, message: str) -> SendError:
        kind = PermanentSendError if code.startswith(self.PERMANENT) else TransientSendError
        return kind(f"aliyun: {code}: {message}")


PROVIDERS: dict[str, type[SmsProvider]] = {
    provider.name: provider for provider in (ConsoleSms, TencentSms, AliyunSms)
}


def send_code_sms(phone: str, code: str) -> str:
    """Send a login code; the name of the provider that sent it."""
    return _with_failover(lambda provider: provider.send_code(phone, code))


def send_reminder_sms(phone: str, title: str, opens: str) -> str:
    """Send a sale reminder; the name of the provider that sent it."""
    return _with_failover(lambda provider: provider.send_reminder(phone, title, opens))


def _with_failover(send: Callable[[SmsProvider], None]) -> str:
    """Send through the configured providers in order; the name of the one that sent.

    A transient failure moves on to the next provider; when all fail that way
    the last error is raised for the task to retry. A permanent one ends it.
    """
    last_error: SendError | None = None
    for name in current_app.config["SMS_PROVIDERS"]:
        try:
            send(PROVIDERS[name]())
            return name
        except TransientSendError as error:
            log.warning("SMS provider %s failed, trying the next: %s", name, error)
            last_error = error
    raise last_error or PermanentSendError("no SMS provider is configured")
