"""A small real HTTP server standing in for ABDM's gateway, kept only for what the real offline
gateway (``abdm_gateway/``, used by the rest of tests/abdm) cannot do:

- sign a callback JWT with any key under any kid (an impostor key behind the gateway's own kid,
  a kid never published, no ``exp``, a chosen lifetime) — tests/abdm/test_bridge.py;
- count how often the JWKS is fetched (the bridge's cache and refetch cooldown) — test_bridge.py;
- refuse every token, even one it has just issued (credentials withdrawn), so a second 401 can
  be seen — test_client.py.

``POST /gateway/v3/sessions`` answers an RS256 access token and ``expiresIn``;
``GET /gateway/v3/certs`` serves the JWKS; any other POST needs a current session token and is
answered 202 — or with the statuses queued in ``script``. Every call is recorded.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

PREFIX = "/api/hiecm"


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def new(cls) -> SigningKey:
        return cls(uuid.uuid4().hex, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(
            jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key())
        )
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}


class FakeGateway:
    def __init__(self, *, expires_in: int = 1200) -> None:
        self.key = SigningKey.new()
        self.expires_in = expires_in
        self.calls: list[Call] = []
        self.script: deque[int] = deque()
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        # False: every call is refused 401, as when the client's credentials were withdrawn.
        self.accepts_tokens = True
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"

    def start(self) -> FakeGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]

    def sign(self, *, key: SigningKey | None = None, lifetime: int = 300, **claims: Any) -> str:
        """A JWT like the one the gateway puts on its callbacks."""
        key = key or self.key
        now = int(time.time())
        payload = {
            "iss": "gateway",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + lifetime,
            **claims,
        }
        return jwt.encode(payload, key.private, algorithm="RS256", headers={"kid": key.kid})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base name)
                pass

            def _record(self, body: Any) -> None:
                path = self.path.removeprefix(PREFIX)
                with gateway.lock:
                    gateway.calls.append(Call(self.command, path, dict(self.headers), body))

            def _answer(self, status: int, body: Any = None) -> None:
                data = json.dumps(body if body is not None else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._record(None)
                if self.path.removeprefix(PREFIX) == "/gateway/v3/certs":
                    self._answer(200, {"keys": [gateway.key.jwk()]})
                else:
                    self._answer(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                self._record(body)
                with gateway.lock:
                    scripted = gateway.script.popleft() if gateway.script else None
                if scripted is not None:
                    self._answer(scripted, {"error": {"code": "ABDM-9999", "message": "scripted"}})
                elif self.path.removeprefix(PREFIX) == "/gateway/v3/sessions":
                    token = gateway.sign(lifetime=gateway.expires_in, clientId=body["clientId"])
                    gateway.issued.append(token)
                    self._answer(200, {"accessToken": token, "expiresIn": gateway.expires_in})
                else:
                    bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if (
                        not gateway.accepts_tokens
                        or bearer not in gateway.issued
                        or bearer in gateway.revoked
                    ):
                        self._answer(401, {"error": {"code": "ABDM-1002", "message": "bad token"}})
                    else:
                        self._answer(202)

        return Handler
