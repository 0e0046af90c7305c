"""The offline gateway as a real process, a real bridge for its callbacks, and plain HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
CM_ID = "sbx"
CLIENT_ID = "TEST_HIP_CLIENT"
CLIENT_SECRET = "test-secret"
HIP_ID = "IN0910000001"
OTHER_CLIENT_ID = "OTHER_HIP_CLIENT"
OTHER_HIP_ID = "IN0910000002"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timestamp(shift: timedelta = timedelta()) -> str:
    stamp = datetime.now(UTC) + shift
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the tests build local http URLs
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


@dataclass
class Gateway:
    """A running `python -m abdm_gateway` on a free port, with a data directory of its own."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"{self.url}/api/hiecm"

    def start(self, *extra: str) -> Gateway:
        config = self.data_dir / "config.json"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config.write_text(
            json.dumps(
                {
                    "cmId": CM_ID,
                    "clients": [
                        {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "hipIds": [HIP_ID]},
                        {
                            "clientId": OTHER_CLIENT_ID,
                            "clientSecret": "other",
                            "hipIds": [OTHER_HIP_ID],
                        },
                    ],
                }
            )
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "abdm_gateway",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--config",
                str(config),
                "--retry-base-ms",
                "50",
                *extra,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=None,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the gateway exited at start")
            try:
                if http("GET", f"{self.url}/_admin/health")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the gateway did not answer /_admin/health")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # ABDM calls ---------------------------------------------------------------------------------
    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"REQUEST-ID": str(uuid.uuid4()), "TIMESTAMP": timestamp(), "X-CM-ID": CM_ID}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(extra)
        return headers

    def session(self, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> tuple[int, Any]:
        return http(
            "POST",
            f"{self.base}/gateway/v3/sessions",
            {
                "clientId": client_id,
                "clientSecret": secret,
                "grantType": "client_credentials",
            },
            self.headers(),
        )

    def token(self) -> str:
        status, body = self.session()
        assert status == 200, body
        return str(body["accessToken"])

    def call(self, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        return http("POST", f"{self.base}{path}", body, headers)

    def register_bridge(self, token: str, url: str) -> None:
        status, body = http(
            "PATCH", f"{self.base}/gateway/v3/bridge/url", {"url": url}, self.headers(token)
        )
        assert status == 202, body

    def jwks(self) -> dict[str, Any]:
        return http("GET", f"{self.base}/gateway/v3/certs")[1]

    # admin switches ------------------------------------------------------------------------------
    def admin(self, path: str, body: Any = None) -> Any:
        status, answer = http("GET" if body is None else "POST", f"{self.url}/_admin/{path}", body)
        assert status in (200, 201), answer
        return answer

    def enqueue(self, path: str, body: dict[str, Any], **extra: Any) -> str:
        answer = self.admin(
            "callbacks", {"clientId": CLIENT_ID, "path": path, "body": body, **extra}
        )
        return str(answer["requestId"])

    def deliveries(self) -> list[dict[str, Any]]:
        return self.admin("deliveries")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class ThreadedServer:
    """An aiohttp server in a thread of the test process on a free port, answering every path
    with ``_handle``; ``start`` returns once it listens."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> Self:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Bridge(ThreadedServer):
    """A HIP's bridge: records what it receives and answers the statuses queued in `answers`
    (then 202)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self.answers: list[int] = []

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        with self.lock:
            self.received.append(Received(request.path, dict(request.headers), body))
            status = self.answers.pop(0) if self.answers else 202
        return web.Response(status=status)

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"the bridge got {len(self.received)} callbacks, not {count}")
