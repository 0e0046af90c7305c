"""Signing a prescription when Redis or PostgreSQL is away (issue 9, items 20 and 21): the
signature stands, and the PDF and the SMS follow once, without anybody's help.

Faults are real: a private ``redis-server`` that is stopped, a TCP proxy in front of
PostgreSQL that is cut (``tests.faults``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from consultations import documents
from consultations import services as prescriptions
from consultations.models import Prescription
from consultations.selectors import consultation_for_doctor
from core import outbox
from core.clock import india_today
from core.models import OutboxMessage
from notifications.models import Notification
from notifications.tasks import retry_due_notifications
from tests.conftest import as_user
from tests.faults import PrivateRedis, TcpProxy, all_redis_on, celery_broker
from tests.workers import celery_worker, wait_for, wait_until_ready, worker_database_url, worker_env

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PARACETAMOL = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
}  # fmt: skip
PUBLIC_BASE_URL = "https://esanjeevani.example.in"


def write_draft(ticket: Any) -> Prescription:
    consultation = consultation_for_doctor(ticket.doctor, ticket.public_id)
    return prescriptions.save_draft(
        prescriptions.draft_for(consultation),
        data={
            "chief_complaints": "Fever for 3 days",
            "diagnosis": "Viral fever",
            "follow_up_on": india_today() + timedelta(days=5),
        },
        medicines=[PARACETAMOL],
    )


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        with all_redis_on(server, key_prefix="esj-signing-test"):
            yield server
    finally:
        server.stop()


def test_a_prescription_signed_while_redis_is_down_gets_its_pdf_and_sms_once_it_is_back(
    visit, redis, sms_outbox
):
    draft = write_draft(visit)
    api = as_user(APIClient(raise_request_exception=False), visit.doctor.user)
    redis.stop()

    response = api.post(f"/api/consultations/{visit.public_id}/finalise/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "final"
    signed = Prescription.objects.get(pk=draft.pk)
    assert not documents.has_stored_pdf(signed)
    waiting = OutboxMessage.objects.get(key=documents.render_key(signed.pk))
    assert waiting.done_at is None

    redis.start()
    later = timezone.now() + outbox.FIRST_RELAY_AFTER
    with celery_broker(redis.url, eager=True):  # the worker's part, run here
        assert outbox.relay(now=later) == 1
        assert outbox.relay(now=later + timedelta(hours=2)) == 0
        assert retry_due_notifications() == 0

    signed.refresh_from_db()
    assert documents.has_stored_pdf(signed)
    (sms,) = sms_outbox
    assert sms.to == visit.patient.account.mobile
    assert f"/prescriptions/{signed.public_id}/pdf/" in sms.body
    notification = Notification.objects.get(about=signed.public_id, channel="sms")
    assert (notification.status, notification.attempts) == ("sent", 1)
    assert OutboxMessage.objects.get(pk=waiting.pk).done_at is not None


# --- PostgreSQL blinks while the worker renders ----------------------------------------------

BLINK_SECONDS = 6.0
WORKER_WAIT_SECONDS = 90.0


def sent_sms(sms_file: Path, reference: str) -> list[dict[str, Any]]:
    if not sms_file.exists():
        return []
    lines = sms_file.read_text(encoding="utf-8").splitlines()
    return [m for m in map(json.loads, lines) if m["reference"] == reference]


def test_rendering_retries_when_the_database_blinks_and_leaves_no_stray_file(visit, tmp_path):
    db = connection.settings_dict
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    broker = PrivateRedis(tmp_path)
    var, sms_file = tmp_path / "var", tmp_path / "sms.jsonl"
    env = worker_env(
        broker_url=broker.url,
        # The worker reaches PostgreSQL only through the proxy.
        database_url=worker_database_url(port=proxy.port),
        var=var,
        DATABASE_POOL_TIMEOUT_SECONDS="3",
        SMS_BACKEND="notifications.sms.FileSmsBackend",
        SMS_FILE_PATH=str(sms_file),
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
    )
    worker = celery_worker(tmp_path / "worker.log", env)
    draft = write_draft(visit)
    try:
        proxy.restore()
        broker.start()
        worker.start()
        wait_until_ready(worker)

        proxy.cut()
        with celery_broker(broker.url):
            signed = prescriptions.finalise(draft, doctor=visit.doctor)
        wait_for(lambda: "Retry in" in worker.log(), "retry of the render", worker, 60)
        time.sleep(BLINK_SECONDS)
        proxy.restore()

        reference = f"prescription-ready:{signed.public_id}:sms"
        wait_for(lambda: sent_sms(sms_file, reference), "SMS", worker, WORKER_WAIT_SECONDS)
    finally:
        worker.stop()
        broker.stop()
        proxy.close()

    signed.refresh_from_db()
    assert signed.pdf_sha256
    (sms,) = sent_sms(sms_file, reference)
    assert f"{PUBLIC_BASE_URL}/prescriptions/{signed.public_id}/pdf/" in sms["body"]
    stored = sorted(p.relative_to(var / "media").as_posix() for p in var.glob("media/**/*.pdf"))
    assert stored == [signed.pdf.name]
    assert OutboxMessage.objects.get(key=documents.render_key(signed.pk)).done_at is not None
