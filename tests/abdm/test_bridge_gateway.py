"""The offline gateway's callbacks delivered to our real bridge, served by a live server: the
gateway signs each with its own RS256 key, the bridge checks it against the gateway's JWKS,
stores it, answers 202 and processes it once — through the gateway's duplicate and reorder
switches and a key rotation."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from abdm import bridge, inbound
from abdm.client import Flow, GatewayMessage, send
from tests.abdm_gateway.harness import HIP_ID, Gateway

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NOTIFY = "/api/v3/consent/request/hip/notify"
ON_NOTIFY = "/consent/v3/request/hip/on-notify"
ON_GENERATE_TOKEN = "/api/v3/hip/token/on-generate-token"
GENERATE_TOKEN = "/v3/token/generate-token"
SUNITA = {
    "abhaNumber": "91-1234-5678-9015",
    "abhaAddress": "",
    "name": "Sunita Devi",
    "gender": "F",
    "yearOfBirth": 1988,
}

Capture = Callable[..., Any]


def delivered(gateway: Gateway, request_id: str, timeout: float = 15) -> dict[str, Any]:
    """The gateway's record of one callback once it is settled (delivered or given up)."""
    deadline = time.monotonic() + timeout
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        found = next(d for d in gateway.deliveries() if d["requestId"] == request_id)
        if found["state"] in {"delivered", "failed", "rejected"}:
            return found
        time.sleep(0.05)
    raise AssertionError(f"delivery {request_id} is {found.get('state')}")


def inbound_message(request_id: str) -> GatewayMessage:
    return GatewayMessage.objects.get(
        direction=GatewayMessage.Direction.INBOUND, request_id=uuid.UUID(request_id)
    )


class Processed:
    """The consent-notify handler for these tests: counts the callbacks the worker runs."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, message: GatewayMessage) -> None:
        with self.lock:
            self.ids.append(str(message.request_id))


@pytest.fixture
def processed(monkeypatch: pytest.MonkeyPatch) -> Processed:
    counter = Processed()
    monkeypatch.setitem(inbound.HANDLERS, Flow.CONSENT_NOTIFY, counter)
    return counter


@pytest.fixture
def bridged(real_gateway: Gateway, live_server: LiveServer) -> Iterator[Gateway]:
    """The gateway with our live bridge registered as the test client's callback URL."""
    real_gateway.register_bridge(real_gateway.token(), live_server.url)
    yield real_gateway
    real_gateway.admin("faults", {"duplicate": False, "reorder": 0})


def test_a_gateway_callback_is_verified_stored_answered_202_and_processed(
    bridged: Gateway, processed: Processed
) -> None:
    body = {"notification": {"status": "GRANTED", "consentId": "c-1"}}
    request_id = bridged.enqueue(NOTIFY, body, hipId=HIP_ID)

    record = delivered(bridged, request_id)

    assert record["state"] == "delivered" and record["attempts"] == 1
    assert record["lastStatus"] == 202
    message = inbound_message(request_id)
    assert message.flow == Flow.CONSENT_NOTIFY and message.path == NOTIFY
    assert message.state == GatewayMessage.State.PROCESSED
    assert processed.ids == [request_id]


def test_our_reply_is_matched_by_the_gateway_to_its_callback_and_accepted_once(
    bridged: Gateway, django_capture_on_commit_callbacks: Capture, processed: Processed
) -> None:
    # ``processed`` stands in for the consent handler, which would send its own answer first.
    callback_id = bridged.enqueue(NOTIFY, {"notification": {"consentId": "c-2"}}, hipId=HIP_ID)
    delivered(bridged, callback_id)
    reply = {
        "acknowledgement": {"status": "ok", "consentId": "c-2"},
        "response": {"requestId": callback_id},
    }

    with django_capture_on_commit_callbacks(execute=True):
        first = send(Flow.ON_NOTIFY, ON_NOTIFY, reply, hip=False)
        second = send(Flow.ON_NOTIFY, ON_NOTIFY, reply, hip=False)
    first.refresh_from_db()
    second.refresh_from_db()

    assert first.state == GatewayMessage.State.ACCEPTED
    # The gateway refuses a second answer to the same callback (409), and it is not retried.
    assert second.state == GatewayMessage.State.FAILED and second.last_error == "HTTP 409"


def test_a_callback_answering_our_request_finds_it(
    bridged: Gateway, django_capture_on_commit_callbacks: Capture
) -> None:
    # The gateway's consent manager answers a generate-token by itself (on-generate-token).
    earlier = {d["requestId"] for d in bridged.deliveries()}
    with django_capture_on_commit_callbacks(execute=True):
        request = send(Flow.GENERATE_TOKEN, GENERATE_TOKEN, SUNITA)
    request.refresh_from_db()
    # The answer may overtake the record of the 202.
    assert request.state in {GatewayMessage.State.ACCEPTED, GatewayMessage.State.ANSWERED}

    deadline = time.monotonic() + 10
    answers: list[str] = []
    while not answers and time.monotonic() < deadline:
        answers = [
            d["requestId"]
            for d in bridged.deliveries()
            if d["path"] == ON_GENERATE_TOKEN and d["requestId"] not in earlier
        ]
        time.sleep(0.05)
    assert len(answers) == 1
    assert delivered(bridged, answers[0])["state"] == "delivered"

    message = inbound_message(answers[0])
    assert message.answers == request and message.state == GatewayMessage.State.PROCESSED
    request.refresh_from_db()
    assert request.state == GatewayMessage.State.ANSWERED


def test_the_duplicate_switch_delivers_twice_and_the_callback_is_processed_once(
    bridged: Gateway, processed: Processed
) -> None:
    bridged.admin("faults", {"duplicate": True})
    request_id = bridged.enqueue(NOTIFY, {"notification": {"consentId": "c-3"}}, hipId=HIP_ID)

    record = delivered(bridged, request_id)
    deadline = time.monotonic() + 10
    while len(record["history"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        record = delivered(bridged, request_id)

    # Both deliveries answered 202 (a non-2xx would make the gateway retry for ever).
    assert [a["status"] for a in record["history"]] == [202, 202]
    assert [a["duplicate"] for a in record["history"]] == [False, True]
    assert GatewayMessage.objects.filter(request_id=uuid.UUID(request_id)).count() == 1
    assert processed.ids == [request_id]


def test_reordered_callbacks_are_each_processed_once(
    bridged: Gateway, processed: Processed
) -> None:
    bridged.admin("faults", {"reorder": 2})
    ids = [
        bridged.enqueue(NOTIFY, {"notification": {"consentId": f"c-{n}"}}, hipId=HIP_ID)
        for n in range(2)
    ]

    for request_id in ids:
        assert delivered(bridged, request_id)["state"] == "delivered"

    assert sorted(processed.ids) == sorted(ids)
    assert processed.ids == ids[::-1]  # the newer arrived first
    assert all(inbound_message(i).state == GatewayMessage.State.PROCESSED for i in ids)


def test_after_the_gateway_rotates_its_key_the_bridge_fetches_the_new_kid(
    own_gateway: Gateway,
    live_server: LiveServer,
    processed: Processed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Shorter than the test gateway's retries (50 ms doubling, 8 tries), as the real 30 s is
    # shorter than a default gateway's (500 ms doubling).
    monkeypatch.setattr(bridge, "JWKS_REFETCH_COOLDOWN_SECONDS", 1.0)
    bridge._jwks_client.cache_clear()
    own_gateway.register_bridge(own_gateway.token(), live_server.url)
    before = own_gateway.enqueue(NOTIFY, {"notification": {"consentId": "c-5"}}, hipId=HIP_ID)
    assert delivered(own_gateway, before)["lastStatus"] == 202
    own_gateway.admin("keys/rotate", {})

    after = own_gateway.enqueue(NOTIFY, {"notification": {"consentId": "c-6"}}, hipId=HIP_ID)

    record = delivered(own_gateway, after)
    assert record["state"] == "delivered"
    # The new kid arrived inside the refetch cooldown: 503 until the bridge could fetch it.
    statuses = [a["status"] for a in record["history"]]
    assert statuses[-1] == 202 and set(statuses[:-1]) <= {503}
    assert processed.ids == [before, after]


def test_a_callback_signed_by_a_gateway_we_do_not_trust_is_refused_401_and_stores_nothing(
    own_gateway: Gateway,
    real_gateway: Gateway,
    live_server: LiveServer,
    settings: SettingsWrapper,
    processed: Processed,
) -> None:
    # The bridge trusts real_gateway's JWKS; own_gateway is another gateway with keys of its own.
    settings.ABDM_GATEWAY_URL = real_gateway.base
    bridge._jwks_client.cache_clear()
    own_gateway.register_bridge(own_gateway.token(), live_server.url)

    request_id = own_gateway.enqueue(NOTIFY, {"notification": {"consentId": "c-7"}}, hipId=HIP_ID)

    record = delivered(own_gateway, request_id)
    assert record["state"] == "rejected" and record["lastStatus"] == 401
    assert not GatewayMessage.objects.filter(request_id=uuid.UUID(request_id)).exists()
    assert processed.ids == []
