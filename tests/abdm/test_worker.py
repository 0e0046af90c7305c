"""The ABDM client with a real Celery worker (``celery worker --pool=solo``) on a private
Redis broker, against the test database and the real offline gateway: a send that meets the
gateway's injected 5xx is retried with back-off and posted once accepted; a callback the gateway
delivers twice to the bridge on a live server is processed once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from abdm.client import Flow, GatewayMessage, send
from abdm.gateway import session_token
from abdm.tasks import deliver_gateway_message, process_callback
from tests.abdm_gateway.harness import CLIENT_ID, CLIENT_SECRET, CM_ID, HIP_ID, Gateway
from tests.e2e.processes import ManagedProcess
from tests.faults import PrivateRedis, celery_broker
from tests.workers import (
    celery_worker,
    wait_for,
    wait_until_ready,
    worker_database_url,
    worker_env,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ON_NOTIFY = "/consent/v3/request/hip/on-notify"
WAIT_SECONDS = 60.0


@pytest.fixture
def worker(
    real_gateway: Gateway, django_db_blocker: Any, tmp_path: Path
) -> Iterator[ManagedProcess]:
    with django_db_blocker.unblock():
        database_url = worker_database_url()
    broker = PrivateRedis(tmp_path)
    env = worker_env(
        broker_url=broker.url,
        database_url=database_url,
        var=tmp_path / "var",
        ABDM_GATEWAY_URL=real_gateway.base,
        ABDM_CLIENT_ID=CLIENT_ID,
        ABDM_CLIENT_SECRET=CLIENT_SECRET,
        ABDM_HIP_ID=HIP_ID,
        ABDM_CM_ID=CM_ID,
    )
    process = celery_worker(tmp_path / "worker.log", env)
    try:
        broker.start()
        process.start()
        wait_until_ready(process)
        with contextlib.ExitStack() as stack:
            stack.enter_context(celery_broker(broker.url))
            yield process
    finally:
        process.stop()
        broker.stop()


def state_of(message: GatewayMessage) -> str:
    message.refresh_from_db()
    return message.state


def test_a_worker_retries_5xx_with_back_off_and_posts_once_accepted(
    real_gateway: Gateway, worker: ManagedProcess
) -> None:
    session_token()  # the cached session (shared through Redis), so the faults hit the posts
    real_gateway.admin("faults", {"fail_5xx_next": 2})

    message = send(Flow.ON_NOTIFY, ON_NOTIFY, {"acknowledgement": {"status": "ok"}})

    wait_for(lambda: state_of(message) == "accepted", "acceptance", worker, WAIT_SECONDS)
    assert message.attempts == 3
    # The gateway admitted it under the message's own REQUEST-ID.
    reuse = real_gateway.headers(real_gateway.token(), **{"REQUEST-ID": str(message.request_id)})
    assert real_gateway.call(ON_NOTIFY, {}, reuse)[0] == 429
    # A duplicate task run later sends nothing more.
    deliver_gateway_message.delay(message.pk)
    wait_for(
        lambda: worker.count_in_log(f"Task {deliver_gateway_message.name}[") >= 8,
        "the duplicate task",
        worker,
        WAIT_SECONDS,
    )
    assert state_of(message) == "accepted" and message.attempts == 3


def test_a_worker_processes_a_callback_once_however_often_it_arrives(
    real_gateway: Gateway, worker: ManagedProcess, live_server: Any
) -> None:
    real_gateway.register_bridge(real_gateway.token(), live_server.url)
    real_gateway.admin("faults", {"duplicate": True})
    try:
        request_id = real_gateway.enqueue(
            "/api/v3/consent/request/hip/notify",
            {"notification": {"status": "GRANTED", "consentId": "c-1"}},
            hipId=HIP_ID,
        )
        wait_for(
            lambda: _statuses(real_gateway, request_id) == [202, 202],
            "both deliveries",
            worker,
            WAIT_SECONDS,
        )
    finally:
        real_gateway.admin("faults", {"duplicate": False})

    message = GatewayMessage.objects.get(request_id=request_id)
    wait_for(lambda: state_of(message) == "processed", "processing", worker, WAIT_SECONDS)
    process_callback.delay(message.pk)  # a redelivered task finds nothing to do
    wait_for(
        lambda: worker.count_in_log(f"Task {process_callback.name}[") >= 4,
        "the second task",
        worker,
        WAIT_SECONDS,
    )
    assert state_of(message) == "processed" and message.attempts == 1


def _statuses(gateway: Gateway, request_id: str) -> list[int]:
    record = next(d for d in gateway.deliveries() if d["requestId"] == request_id)
    return [a["status"] for a in record["history"]]


def test_a_worker_answers_a_health_information_request_and_pushes_the_documents(
    real_gateway: Gateway, worker: ManagedProcess, live_server: Any, family: Any
) -> None:
    import abdm_ecdh  # noqa: PLC0415

    from abdm.models import CareContext, Consent, HealthInformationRequest  # noqa: PLC0415
    from tests.abdm.m2 import SIGNED_AT, signed_visits  # noqa: PLC0415
    from tests.abdm_gateway.harness import Bridge  # noqa: PLC0415

    [visit] = signed_visits(family)
    context = CareContext.objects.create(
        patient=family, consultation=visit, reference=visit.public_id, display="x",
        state=CareContext.State.LINKED,
    )  # fmt: skip
    consent = Consent.objects.create(
        consent_id="c-worker", status="GRANTED", patient=family, hi_types=["Prescription"],
        date_from=SIGNED_AT - timedelta(days=1), date_to=SIGNED_AT + timedelta(days=1),
        data_erase_at=datetime.now(UTC) + timedelta(days=1),
    )  # fmt: skip
    consent.care_contexts.add(context)
    requester = abdm_ecdh.generate_key_material()
    receiver = Bridge().start()
    real_gateway.register_bridge(real_gateway.token(), live_server.url)
    try:
        real_gateway.enqueue(
            "/api/v3/hip/health-information/request",
            {
                "transactionId": "t-worker",
                "hiRequest": {
                    "consent": {"id": "c-worker"},
                    "dateRange": {"from": SIGNED_AT.isoformat(), "to": SIGNED_AT.isoformat()},
                    "dataPushUrl": f"{receiver.url}/push",
                    "keyMaterial": {
                        "cryptoAlg": "ECDH", "curve": "Curve25519",
                        "dhPublicKey": {"expiry": None, "parameters": "", "keyValue": requester.public_key},  # noqa: E501
                        "nonce": requester.nonce,
                    },
                },
            },
            hipId=HIP_ID,
        )  # fmt: skip

        def transferred() -> bool:
            found = HealthInformationRequest.objects.filter(transaction_id="t-worker").first()
            return found is not None and found.state == "transferred"

        wait_for(transferred, "the transfer", worker, WAIT_SECONDS)
        [page] = receiver.received
        [entry] = page.body["entries"]
        key = page.body["keyMaterial"]
        plain = abdm_ecdh.decrypt(
            entry["content"], key["nonce"], requester.nonce, requester.private_key,
            key["dhPublicKey"]["keyValue"],
        ).decrypted_data  # fmt: skip
        assert '"resourceType":"Bundle"' in plain
        assert entry["careContextReference"] == str(visit.public_id)
    finally:
        receiver.stop()
