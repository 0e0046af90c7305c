"""The ABDM client with a real Celery worker (``celery worker --pool=solo``) on a private
Redis broker, against the test database and the gateway stand-in: a send that meets 5xx is
retried with back-off and posted once accepted; a callback is processed once."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from abdm.client import Flow, GatewayMessage, send
from abdm.gateway import session_token, timestamp
from abdm.tasks import deliver_gateway_message, process_callback
from tests.abdm.fake_gateway import FakeGateway
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
    gateway: FakeGateway, django_db_blocker: Any, tmp_path: Path
) -> Iterator[ManagedProcess]:
    with django_db_blocker.unblock():
        database_url = worker_database_url()
    broker = PrivateRedis(tmp_path)
    env = worker_env(
        broker_url=broker.url,
        database_url=database_url,
        var=tmp_path / "var",
        ABDM_GATEWAY_URL=gateway.url,
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
    gateway: FakeGateway, worker: ManagedProcess
) -> None:
    session_token()  # the cached session (shared through Redis), so the script hits the posts
    gateway.script.extend([503, 502])

    message = send(Flow.ON_NOTIFY, ON_NOTIFY, {"acknowledgement": {"status": "ok"}})

    wait_for(lambda: state_of(message) == "accepted", "acceptance", worker, WAIT_SECONDS)
    posts = gateway.calls_to(ON_NOTIFY)
    assert len(posts) == 3 and message.attempts == 3
    assert {p.headers["REQUEST-ID"] for p in posts} == {str(message.request_id)}
    # A duplicate task run later sends nothing more.
    deliver_gateway_message.delay(message.pk)
    wait_for(
        lambda: worker.count_in_log(f"Task {deliver_gateway_message.name}[") >= 8,
        "the duplicate task",
        worker,
        WAIT_SECONDS,
    )
    assert len(gateway.calls_to(ON_NOTIFY)) == 3


def test_a_worker_processes_a_callback_once_however_often_it_arrives(
    gateway: FakeGateway, worker: ManagedProcess, client: Any
) -> None:
    request_id = str(uuid.uuid4())
    headers = {
        "Authorization": f"Bearer {gateway.sign()}",
        "REQUEST-ID": request_id,
        "TIMESTAMP": timestamp(),
    }
    for _ in range(2):
        response = client.post(
            "/api/v3/consent/request/hip/notify",
            data={"notification": {"status": "GRANTED", "consentId": "c-1"}},
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 202

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
