"""The bridge: ABDM's gateway calls /api/v3/...; its JWT is checked against the JWKS it serves
(a real HTTP server), the call is stored, answered 202 and processed once by a Celery task."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.test import Client
from django.urls import reverse

from abdm import bridge, inbound
from abdm.gateway import timestamp
from abdm.models import Flow, GatewayMessage, digest
from tests.abdm.fake_gateway import FakeGateway, SigningKey

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]
NOTIFY = "/api/v3/consent/request/hip/notify"
CONSENT = {"notification": {"status": "GRANTED", "consentId": "c-1"}}


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[uuid.UUID]]:
    """A handler for consent notifications that records what it was given, in place of the
    real one (abdm/handlers.py) for the test."""
    seen: list[uuid.UUID] = []
    monkeypatch.setitem(
        inbound.HANDLERS, Flow.CONSENT_NOTIFY, lambda message: seen.append(message.request_id)
    )
    yield seen


def call(
    token: str | None,
    *,
    path: str = NOTIFY,
    body: Any = CONSENT,
    request_id: str | None = None,
    at: str | None = None,
) -> tuple[Any, str]:
    """POST like the gateway: a fresh CSRF-checking client, no session."""
    request_id = request_id or str(uuid.uuid4())
    headers = {"REQUEST-ID": request_id, "TIMESTAMP": at or timestamp(), "X-CM-ID": "sbx"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    client = Client(enforce_csrf_checks=True)
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post(path, data=data, content_type="application/json", headers=headers)
    return response, request_id


def certs_fetches(gateway: FakeGateway) -> int:
    return len([c for c in gateway.calls if c.path == "/gateway/v3/certs"])


def test_every_abdm_callback_path_is_routed_to_its_flow() -> None:
    expected = {
        "/api/v3/hip/patient/care-context/discover": Flow.DISCOVER,
        "/api/v3/hip/link/care-context/init": Flow.LINK_INIT,
        "/api/v3/hip/link/care-context/confirm": Flow.LINK_CONFIRM,
        "/api/v3/hip/token/on-generate-token": Flow.ON_GENERATE_TOKEN,
        "/api/v3/link/on_carecontext": Flow.ON_CARECONTEXT,
        "/api/v3/consent/request/hip/notify": Flow.CONSENT_NOTIFY,
        "/api/v3/hip/health-information/request": Flow.HI_REQUEST,
        "/api/v3/hip/patient/share": Flow.PROFILE_SHARE,
    }
    assert {path: reverse(f"abdm:bridge-{flow}") for path, flow in expected.items()} == {
        path: path for path in expected
    }


def test_a_valid_callback_is_answered_202_stored_and_processed_once(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture, handled: list[uuid.UUID]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response, request_id = call(gateway.sign())
    assert response.status_code == 202
    message = GatewayMessage.objects.get(request_id=request_id)
    assert message.direction == GatewayMessage.Direction.INBOUND
    assert message.flow == Flow.CONSENT_NOTIFY and message.path == NOTIFY
    assert message.state == GatewayMessage.State.PROCESSED
    assert message.body == CONSENT and message.body_digest == digest(CONSENT)
    assert handled == [uuid.UUID(request_id)]

    # The gateway retries after a lost 202: answered 202 again, nothing changes.
    with django_capture_on_commit_callbacks(execute=True):
        again, _ = call(gateway.sign(), request_id=request_id)
    assert again.status_code == 202
    assert GatewayMessage.objects.filter(request_id=request_id).count() == 1
    assert handled == [uuid.UUID(request_id)]


def test_a_callback_answers_its_request_and_a_second_answer_is_not_processed(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture, handled: list[uuid.UUID]
) -> None:
    ours = GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.OUTBOUND,
        flow=Flow.GENERATE_TOKEN,
        path="/v3/token/generate-token",
        state=GatewayMessage.State.SENDING,  # the callback overtakes our 202
        body={},
        body_digest=digest({}),
    )
    answer = {**CONSENT, "response": {"requestId": str(ours.request_id)}}
    with django_capture_on_commit_callbacks(execute=True):
        first, first_id = call(gateway.sign(), body=answer)
        second, second_id = call(gateway.sign(), body=answer)
    assert first.status_code == second.status_code == 202

    ours.refresh_from_db()
    assert ours.state == GatewayMessage.State.ANSWERED and ours.answered_at is not None
    # The sender's 202 comes last: it does not move the request back.
    assert not ours.mark_accepted(now=datetime.now(UTC))
    callback = GatewayMessage.objects.get(request_id=first_id)
    assert callback.answers == ours and callback.state == GatewayMessage.State.PROCESSED
    duplicate = GatewayMessage.objects.get(request_id=second_id)
    assert duplicate.state == GatewayMessage.State.DUPLICATE
    assert handled == [uuid.UUID(first_id)]


def _forged_tokens(gateway: FakeGateway) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": "gateway", "iat": now, "exp": now + 300}
    impostor = SigningKey(gateway.key.kid, SigningKey.new().private)  # same kid, other key
    public_pem = (
        gateway.key.private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    header = {"kid": gateway.key.kid}
    return {
        "bad signature": gateway.sign(key=impostor),
        "expired": gateway.sign(lifetime=-60),
        "alg none": jwt.encode(claims, "", algorithm="none", headers=header),
        "HS256 with the public key": _hs256(claims, public_pem, header),
        "no exp": jwt.encode(
            {"iss": "gateway"}, gateway.key.private, algorithm="RS256", headers=header
        ),
        "not a JWT": "not-a-token",
    }


def _hs256(claims: dict[str, Any], secret: str, header: dict[str, str]) -> str:
    # PyJWT refuses a PEM key as an HMAC secret; build the token by hand, as an attacker would.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


@pytest.mark.parametrize(
    "kind",
    ["bad signature", "expired", "alg none", "HS256 with the public key", "no exp", "not a JWT"],
)
def test_a_bad_token_is_refused_401_and_nothing_is_stored(gateway: FakeGateway, kind: str) -> None:
    response, _ = call(_forged_tokens(gateway)[kind])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "ABDM-1002"
    assert not GatewayMessage.objects.exists()


def test_a_missing_token_is_refused_401(gateway: FakeGateway) -> None:
    response, _ = call(None)
    assert response.status_code == 401
    assert not GatewayMessage.objects.exists()


@pytest.mark.parametrize(
    "moment",
    [
        lambda: timestamp(datetime.now(UTC) - timedelta(minutes=2)),
        lambda: timestamp(datetime.now(UTC) + timedelta(minutes=10)),
        lambda: "yesterday",
        lambda: "",
    ],
    ids=["2 min old", "10 min ahead", "not a time", "missing"],
)
def test_a_timestamp_outside_the_gateways_window_is_refused_400(
    gateway: FakeGateway, moment: Callable[[], str]
) -> None:
    response, _ = call(gateway.sign(), at=moment() or " ")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ABDM-1017"
    assert not GatewayMessage.objects.exists()


def test_timestamps_inside_the_window_are_accepted(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        early, _ = call(gateway.sign(), at=timestamp(datetime.now(UTC) - timedelta(seconds=50)))
        late, _ = call(gateway.sign(), at=timestamp(datetime.now(UTC) + timedelta(minutes=8)))
    assert early.status_code == late.status_code == 202


@pytest.mark.parametrize("request_id", ["not-a-uuid", " "])
def test_a_request_id_that_is_not_a_uuid_is_refused_400(
    gateway: FakeGateway, request_id: str
) -> None:
    response, _ = call(gateway.sign(), request_id=request_id)
    assert response.status_code == 400
    assert not GatewayMessage.objects.exists()


@pytest.mark.parametrize("body", ["{not json", "[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_refused_400(gateway: FakeGateway, body: str) -> None:
    response, _ = call(gateway.sign(), body=body)
    assert response.status_code == 400
    assert not GatewayMessage.objects.exists()


def test_only_post_is_allowed(gateway: FakeGateway) -> None:
    assert Client().get(NOTIFY).status_code == 405


def test_the_jwks_is_cached_and_fetched_once_more_for_an_unknown_kid(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture, monkeypatch: Any
) -> None:
    monkeypatch.setattr(bridge, "JWKS_REFETCH_COOLDOWN_SECONDS", 0.0)
    with django_capture_on_commit_callbacks(execute=True):
        assert call(gateway.sign())[0].status_code == 202
        assert call(gateway.sign())[0].status_code == 202
    assert certs_fetches(gateway) == 1

    stranger = SigningKey.new()  # a kid the gateway never published
    assert call(gateway.sign(key=stranger))[0].status_code == 401
    assert certs_fetches(gateway) == 2


def test_unknown_kids_refetch_the_jwks_at_most_once_per_cooldown(gateway: FakeGateway) -> None:
    # The first is looked up in a fresh set: not there, 401.
    assert call(gateway.sign(key=SigningKey.new()))[0].status_code == 401
    # Inside the cooldown an unknown kid may be a key just rotated in: 503, so the gateway
    # delivers again later (it never retries a 4xx), and nothing is fetched or stored.
    for _ in range(4):
        response, _ = call(gateway.sign(key=SigningKey.new()))
        assert response.status_code == 503
    assert certs_fetches(gateway) == 1  # the first fetch starts the cooldown
    assert not GatewayMessage.objects.exists()


def test_a_rotated_gateway_key_is_picked_up_with_one_fetch(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture, monkeypatch: Any
) -> None:
    monkeypatch.setattr(bridge, "JWKS_REFETCH_COOLDOWN_SECONDS", 0.0)
    with django_capture_on_commit_callbacks(execute=True):
        assert call(gateway.sign())[0].status_code == 202
        gateway.key = SigningKey.new()  # the gateway rotates its signing key
        assert call(gateway.sign())[0].status_code == 202
        assert call(gateway.sign())[0].status_code == 202
    assert certs_fetches(gateway) == 2


def test_callbacks_wait_with_503_while_the_gateways_keys_cannot_be_fetched(
    gateway: FakeGateway,
) -> None:
    token = gateway.sign()
    gateway.stop()
    response, _ = call(token)
    assert response.status_code == 503  # the gateway retries; nothing is stored meanwhile
    assert not GatewayMessage.objects.exists()
