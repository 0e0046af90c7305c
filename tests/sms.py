"""Test SMS: reading one-time codes out of them, and a fake operator gateway."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def code_in(body: str) -> str:
    match = re.search(r"\b(\d{6})\b", body)
    if match is None:
        raise AssertionError(f"no 6-digit code in SMS: {body!r}")
    return match.group(1)


class FakeGateway:
    """The SMS operator's HTTP API: records requests, answers with the statuses it is given
    (``"hang"``: answers only after the client has given up)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[int | str] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append({"headers": dict(self.headers), "json": json.loads(body)})
                answer = gateway.answers.pop(0) if gateway.answers else 202
                if answer == "hang":
                    time.sleep(1.5)
                    answer = 202
                self.send_response(int(answer))
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
