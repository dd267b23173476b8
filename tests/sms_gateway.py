"""A local HTTP server that answers like the Tencent Cloud and Aliyun SMS APIs.

The real SDKs talk to it over HTTP (their endpoint is overridden), so the
adapters are tested down to the wire, without patching the SDK.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class SmsGateway:
    """Queue replies with ``reply(...)``; each request takes the next, then 'ok'."""

    def __init__(self, port: int) -> None:
        self.requests: list[dict] = []
        self._replies: list[tuple[int, dict]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                gateway._answer(self)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        self.requests.clear()
        self._replies.clear()

    def reply(self, status: int, body: dict) -> None:
        self._replies.append((status, body))

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode()
        url = urlsplit(handler.path)
        request = {"path": url.path, "headers": dict(handler.headers), "query": parse_qs(url.query)}
        if handler.headers.get("Content-Type", "").startswith("application/json"):
            request["json"] = json.loads(raw or "{}")
        else:
            request["form"] = parse_qs(raw)
        self.requests.append(request)
        status, body = self._replies.pop(0) if self._replies else (200, self._ok(request))
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _ok(request: dict) -> dict:
        if "X-TC-Action" in request["headers"]:
            return tencent_status("Ok", "send success")
        return aliyun_reply("OK", "OK")


def tencent_status(code: str, message: str) -> dict:
    """A Tencent SendSms answer whose one number has this status."""
    status = {
        "SerialNo": "2028:f825e6b16e23f73f4123",
        "PhoneNumber": "+8613800138000",
        "Fee": 1,
        "SessionContext": "",
        "Code": code,
        "Message": message,
        "IsoCode": "CN",
    }
    return {"Response": {"SendStatusSet": [status], "RequestId": "a0aabda6-cf91-4f3e-a81f"}}


def tencent_error(code: str, message: str) -> dict:
    """A Tencent API-level error (auth, throttling, bad parameters)."""
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "b1"}}


def aliyun_reply(code: str, message: str) -> dict:
    return {
        "Code": code,
        "Message": message,
        "BizId": "9006197469364984400",
        "RequestId": "F655A8D5",
    }
