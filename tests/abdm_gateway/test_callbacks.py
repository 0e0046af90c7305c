"""Callbacks from the outbox to a real bridge: signed, retried, and bent by the fault switches."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWKSet

from tests.abdm_gateway.harness import CM_ID, HIP_ID, Bridge, Gateway

NOTIFY = "/api/v3/consent/request/hip/notify"


def delivery(gateway: Gateway, request_id: str) -> dict[str, Any]:
    return next(d for d in gateway.deliveries() if d["requestId"] == request_id)


def wait_for_state(
    gateway: Gateway, request_id: str, state: str, timeout: float = 10
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = delivery(gateway, request_id)
        if found["state"] == state:
            return found
        time.sleep(0.02)
    raise AssertionError(f"delivery {request_id} is {found['state']}, not {state}")


def test_a_queued_callback_arrives_signed_with_a_key_in_the_jwks(
    abdm_gateway: Gateway, abdm_bridge: Bridge
):
    body = {"notification": {"status": "GRANTED", "consentId": "c-1"}}

    request_id = abdm_gateway.enqueue(NOTIFY, body, hipId=HIP_ID)
    [received] = abdm_bridge.wait_for(1)

    assert received.path == NOTIFY
    assert received.body == body
    assert received.headers["REQUEST-ID"] == request_id
    assert received.headers["X-CM-ID"] == CM_ID
    assert received.headers["X-HIP-ID"] == HIP_ID
    sent_at = datetime.fromisoformat(received.headers["TIMESTAMP"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - sent_at) < timedelta(seconds=10)
    token = received.headers["Authorization"].removeprefix("Bearer ")
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in PyJWKSet.from_dict(abdm_gateway.jwks()).keys if k.key_id == kid)
    claims = jwt.decode(token, key.key, algorithms=["RS256"])
    assert claims["exp"] > time.time()
    assert wait_for_state(abdm_gateway, request_id, "delivered")["attempts"] == 1


def test_a_bridge_5xx_is_retried_until_it_succeeds(abdm_gateway: Gateway, abdm_bridge: Bridge):
    abdm_bridge.answers[:] = [503, 500, 502]

    request_id = abdm_gateway.enqueue(NOTIFY, {"n": 1})
    received = abdm_bridge.wait_for(4)

    assert {r.headers["REQUEST-ID"] for r in received} == {request_id}
    done = wait_for_state(abdm_gateway, request_id, "delivered")
    assert [a["status"] for a in done["history"]] == [503, 500, 502, 202]
    gaps = [b["at"] - a["at"] for a, b in zip(done["history"], done["history"][1:], strict=False)]
    assert gaps[2] > gaps[0]


def test_a_bridge_4xx_is_not_retried(abdm_gateway: Gateway, abdm_bridge: Bridge):
    abdm_bridge.answers[:] = [400]

    request_id = abdm_gateway.enqueue(NOTIFY, {"n": 1})
    abdm_bridge.wait_for(1)

    assert wait_for_state(abdm_gateway, request_id, "rejected")["attempts"] == 1
    time.sleep(0.3)
    assert len(abdm_bridge.received) == 1


def test_injected_delivery_failures_are_retried(abdm_gateway: Gateway, abdm_bridge: Bridge):
    abdm_gateway.admin("faults", {"fail_deliveries_next": 2})

    request_id = abdm_gateway.enqueue(NOTIFY, {"n": 1})
    abdm_bridge.wait_for(1)

    done = wait_for_state(abdm_gateway, request_id, "delivered")
    assert [a["error"] for a in done["history"]] == ["injected failure"] * 2 + [None]
    assert len(abdm_bridge.received) == 1


def test_the_duplicate_switch_delivers_each_callback_twice_with_one_request_id(
    abdm_gateway: Gateway, abdm_bridge: Bridge
):
    abdm_gateway.admin("faults", {"duplicate": True})

    request_id = abdm_gateway.enqueue(NOTIFY, {"n": 1})
    received = abdm_bridge.wait_for(2)

    assert [r.headers["REQUEST-ID"] for r in received] == [request_id, request_id]
    assert received[0].body == received[1].body
    assert [a["duplicate"] for a in delivery(abdm_gateway, request_id)["history"]] == [
        False,
        True,
    ]


def test_the_reorder_switch_delivers_a_batch_newest_first(
    abdm_gateway: Gateway, abdm_bridge: Bridge
):
    abdm_gateway.admin("faults", {"reorder": 3})

    sent = [abdm_gateway.enqueue(NOTIFY, {"n": n}) for n in range(3)]
    received = abdm_bridge.wait_for(3)

    assert [r.headers["REQUEST-ID"] for r in received] == sent[::-1]
    assert [r.body["n"] for r in received] == [2, 1, 0]


def test_the_delay_switch_holds_each_delivery(abdm_gateway: Gateway, abdm_bridge: Bridge):
    abdm_gateway.admin("faults", {"delay_ms": 400})
    started = time.monotonic()

    abdm_gateway.enqueue(NOTIFY, {"n": 1})
    abdm_bridge.wait_for(1)

    assert time.monotonic() - started >= 0.4


def test_the_outbox_survives_a_kill(fresh_abdm_gateway: Gateway):
    gateway = fresh_abdm_gateway
    bridge = Bridge().start()
    gateway.register_bridge(gateway.token(), bridge.url)
    gateway.admin("faults", {"delay_ms": 5000})
    request_id = gateway.enqueue(NOTIFY, {"n": 1})
    time.sleep(0.2)
    assert delivery(gateway, request_id)["state"] == "pending"

    gateway.process.kill()  # type: ignore[union-attr]
    gateway.process.wait()  # type: ignore[union-attr]
    assert bridge.received == []
    try:
        gateway.start()
        [received] = bridge.wait_for(1)
    finally:
        bridge.stop()

    assert received.headers["REQUEST-ID"] == request_id
    assert received.body == {"n": 1}
    assert wait_for_state(gateway, request_id, "delivered")["attempts"] == 1


def test_a_delivery_gives_up_after_the_last_attempt(tmp_path: Path):
    gateway = Gateway(tmp_path / "gateway").start("--max-attempts", "3")
    bridge = Bridge().start()
    try:
        gateway.register_bridge(gateway.token(), bridge.url)
        bridge.answers[:] = [503] * 5
        request_id = gateway.enqueue(NOTIFY, {"n": 1})

        failed = wait_for_state(gateway, request_id, "failed")
        time.sleep(0.5)
    finally:
        bridge.stop()
        gateway.stop()

    assert failed["attempts"] == 3
    assert len(bridge.received) == 3


def test_dropped_deliveries_never_reach_the_next_bridge(abdm_gateway: Gateway, abdm_bridge: Bridge):
    abdm_bridge.answers[:] = [503] * 20  # the first bridge keeps failing: the callback waits
    request_id = abdm_gateway.enqueue(NOTIFY, {"n": 1})
    abdm_bridge.wait_for(1)

    assert abdm_gateway.admin("deliveries/drop", {})["dropped"] >= 1
    abdm_bridge.answers.clear()  # the bridge would now accept it: nothing comes

    wait_for_state(abdm_gateway, request_id, "dropped")
    time.sleep(1.5)  # longer than the back-off before its next try
    final = delivery(abdm_gateway, request_id)
    assert final["state"] == "dropped"
    assert 202 not in [a["status"] for a in final["history"]]
