"""ABDM's admission rules on every HIP call: each refusal has ABDM's status and changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.abdm_gateway.harness import (
    CM_ID,
    HIP_ID,
    OTHER_HIP_ID,
    Bridge,
    Gateway,
    timestamp,
)

ON_DISCOVER = "/user-initiated-linking/v3/patient/care-context/on-discover"
GENERATE_TOKEN = "/v3/token/generate-token"
PROFILE = {"abhaNumber": "91-1234-5678-9012", "name": "Test", "gender": "F", "yearOfBirth": 1990}


def test_a_well_formed_call_gets_202_and_no_body(abdm_gateway: Gateway):
    headers = abdm_gateway.headers(abdm_gateway.token(), **{"X-HIP-ID": HIP_ID})

    assert abdm_gateway.call(GENERATE_TOKEN, PROFILE, headers) == (202, None)


def test_no_token_or_a_forged_one_gets_401(abdm_gateway: Gateway):
    token = abdm_gateway.token()
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    assert abdm_gateway.call(ON_DISCOVER, {}, abdm_gateway.headers())[0] == 401
    assert abdm_gateway.call(ON_DISCOVER, {}, abdm_gateway.headers(forged))[0] == 401


def test_a_reused_request_id_gets_429_in_abdms_error_shape(abdm_gateway: Gateway):
    headers = abdm_gateway.headers(abdm_gateway.token())

    first = abdm_gateway.call(ON_DISCOVER, {}, headers)
    headers["TIMESTAMP"] = timestamp()
    second = abdm_gateway.call(ON_DISCOVER, {}, headers)

    assert first[0] == 202
    assert second[0] == 429
    assert set(second[1]["error"]) == {"code", "message"}
    assert second[1]["error"]["code"].startswith("ABDM-")


def test_a_request_id_that_is_not_a_uuid_gets_400(abdm_gateway: Gateway):
    headers = abdm_gateway.headers(abdm_gateway.token(), **{"REQUEST-ID": "not-a-uuid"})

    assert abdm_gateway.call(ON_DISCOVER, {}, headers)[0] == 400


@pytest.mark.parametrize(
    "stamp",
    [
        None,
        "yesterday",
        timedelta(minutes=-2),
        timedelta(minutes=10),
    ],
    ids=["absent", "not-a-time", "two-minutes-old", "ten-minutes-ahead"],
)
def test_a_bad_or_absent_timestamp_gets_400_and_leaves_the_request_id_unused(
    abdm_gateway: Gateway, stamp: str | timedelta | None
):
    # A shift is turned into a time when the test runs, not when it is collected (a long run
    # before it would bring "ten minutes ahead" inside the window).
    if isinstance(stamp, timedelta):
        stamp = timestamp(stamp)
    headers = abdm_gateway.headers(abdm_gateway.token())
    good = headers["TIMESTAMP"]
    if stamp is None:
        del headers["TIMESTAMP"]
    else:
        headers["TIMESTAMP"] = stamp

    status, body = abdm_gateway.call(ON_DISCOVER, {}, headers)
    headers["TIMESTAMP"] = good

    assert status == 400
    assert "TIMESTAMP" in body["error"]["message"]
    assert abdm_gateway.call(ON_DISCOVER, {}, headers)[0] == 202


def test_a_timestamp_eight_minutes_ahead_is_accepted(abdm_gateway: Gateway):
    headers = abdm_gateway.headers(abdm_gateway.token(), TIMESTAMP=timestamp(timedelta(minutes=8)))

    assert abdm_gateway.call(ON_DISCOVER, {}, headers)[0] == 202


def test_another_cm_id_gets_400(abdm_gateway: Gateway):
    headers = abdm_gateway.headers(abdm_gateway.token(), **{"X-CM-ID": f"not-{CM_ID}"})

    assert abdm_gateway.call(ON_DISCOVER, {}, headers)[0] == 400


def test_an_unknown_hip_id_or_another_clients_hip_is_refused(abdm_gateway: Gateway):
    token = abdm_gateway.token()
    unknown = abdm_gateway.headers(token, **{"X-HIP-ID": "IN0999999999"})
    foreign = abdm_gateway.headers(token, **{"X-HIP-ID": OTHER_HIP_ID})
    absent = abdm_gateway.headers(token)

    assert abdm_gateway.call(GENERATE_TOKEN, PROFILE, unknown)[0] == 400
    assert abdm_gateway.call(GENERATE_TOKEN, PROFILE, foreign)[0] == 403
    assert abdm_gateway.call(GENERATE_TOKEN, PROFILE, absent)[0] == 400


def test_a_reply_is_accepted_once_and_only_to_a_request_the_gateway_sent(
    abdm_gateway: Gateway, abdm_bridge: Bridge
):
    token = abdm_gateway.token()
    sent = abdm_gateway.enqueue("/api/v3/hip/patient/care-context/discover", {"t": 1})
    abdm_bridge.wait_for(1)

    def reply(request_id: str) -> int:
        body = {"transactionId": "t", "response": {"requestId": request_id}}
        return abdm_gateway.call(ON_DISCOVER, body, abdm_gateway.headers(token))[0]

    assert reply(str(uuid.uuid4())) == 400
    assert reply(sent) == 202
    assert reply(sent) == 409


def test_the_5xx_switch_fails_the_next_calls_then_lets_the_same_request_through(
    abdm_gateway: Gateway,
):
    headers = abdm_gateway.headers(abdm_gateway.token())
    abdm_gateway.admin("faults", {"fail_5xx_next": 2})

    answers = [abdm_gateway.call(ON_DISCOVER, {}, headers)[0] for _ in range(3)]

    assert answers == [503, 503, 202]


def test_a_restarted_gateway_keeps_its_keys_and_the_request_ids_it_saw(
    fresh_abdm_gateway: Gateway,
):
    gateway = fresh_abdm_gateway
    token = gateway.token()
    headers = gateway.headers(token)
    assert gateway.call(ON_DISCOVER, {}, headers)[0] == 202

    gateway.process.kill()  # type: ignore[union-attr]
    gateway.process.wait()  # type: ignore[union-attr]
    gateway.start()
    headers["TIMESTAMP"] = timestamp()

    assert gateway.call(ON_DISCOVER, {}, headers)[0] == 429
    assert gateway.call(ON_DISCOVER, {}, gateway.headers(token))[0] == 202


def test_a_body_that_is_not_a_json_object_gets_400(abdm_gateway: Gateway):
    headers = abdm_gateway.headers(abdm_gateway.token())

    status, body = abdm_gateway.call(ON_DISCOVER, ["not", "an", "object"], headers)

    assert status == 400
    assert body["error"]["code"].startswith("ABDM-")
    assert abdm_gateway.call(ON_DISCOVER, {}, headers)[0] == 202
