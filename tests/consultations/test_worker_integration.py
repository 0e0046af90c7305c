"""Finalising a prescription with a real Celery worker: the PDF is stored, the family gets one
SMS and one e-mail, and a duplicated task sends nothing more.

The worker (``celery worker --pool=solo``) runs against the test database on a private
``redis-server`` broker started for this test, and sends SMS through ``FileSmsBackend`` and
e-mail through Django's file backend, so the test reads what went out. This process keeps eager
mode for everything before the test switches its Celery app to that broker.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from consultations import services
from consultations.models import Prescription
from consultations.selectors import consultation_for_doctor
from consultations.tasks import render_prescription
from core.clock import india_today
from notifications.models import Notification
from notifications.tasks import deliver_notification
from tests.e2e.processes import ManagedProcess
from tests.faults import PrivateRedis, celery_broker
from tests.workers import celery_worker, wait_until_ready, worker_database_url, worker_env

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PUBLIC_BASE_URL = "https://esanjeevani.example.in"
# Rendering a PDF with fonts takes a few seconds on a loaded machine.
WORKER_WAIT_SECONDS = 60.0
# After the first message: long enough for a duplicate to show up if one were coming.
QUIET_SECONDS = 3.0

PARACETAMOL = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
}  # fmt: skip


@dataclass
class Worker:
    broker_url: str
    sms_file: Path
    mail_dir: Path
    media_root: Path
    process: ManagedProcess

    def sms(self, reference: str) -> list[dict[str, Any]]:
        if not self.sms_file.exists():
            return []
        lines = self.sms_file.read_text(encoding="utf-8").splitlines()
        return [m for m in map(json.loads, lines) if m["reference"] == reference]

    def emails(self) -> list[str]:
        if not self.mail_dir.exists():
            return []
        text = "".join(path.read_text(encoding="utf-8") for path in self.mail_dir.iterdir())
        return [part for part in text.split("-" * 79) if "Message-ID:" in part]

    def task_log_lines(self, task: Any) -> int:
        """Lines the worker logged about ``task``: "received" and "succeeded" per run."""
        return self.process.count_in_log(f"Task {task.name}[")

    def wait_until(self, condition: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + WORKER_WAIT_SECONDS
        while not condition():
            if not self.process.alive():
                pytest.fail(f"The worker died:\n{self.process.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"No {what} after {WORKER_WAIT_SECONDS}s:\n{self.process.log_tail()}")
            time.sleep(0.1)


@pytest.fixture
def worker(django_db_blocker: Any, tmp_path: Path) -> Iterator[Worker]:
    with django_db_blocker.unblock():
        database_url = worker_database_url()
    broker = PrivateRedis(tmp_path)
    var = tmp_path / "var"
    env = worker_env(
        broker_url=broker.url,
        database_url=database_url,
        var=var,
        SMS_BACKEND="notifications.sms.FileSmsBackend",
        SMS_FILE_PATH=str(tmp_path / "sms.jsonl"),
        EMAIL_URL="filemail://",  # into VAR_DIR/mail
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
    )
    process = celery_worker(tmp_path / "worker.log", env)
    try:
        broker.start()
        process.start()
        wait_until_ready(process)
        yield Worker(
            broker_url=broker.url,
            sms_file=tmp_path / "sms.jsonl",
            mail_dir=var / "mail",
            media_root=var / "media",
            process=process,
        )
    finally:
        # Before pytest-django flushes the database the worker is connected to.
        process.stop()
        broker.stop()


@pytest.fixture
def send_to_worker(worker: Worker) -> Iterator[Callable[[], None]]:
    """Call it to make this process send tasks to the worker's broker instead of running them
    (after the test's set-up, which runs its own tasks eagerly)."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(celery_broker(worker.broker_url))


def written(ticket: Any) -> Prescription:
    consultation = consultation_for_doctor(ticket.doctor, ticket.public_id)
    return services.save_draft(
        services.draft_for(consultation),
        data={
            "chief_complaints": "Fever for 3 days",
            "diagnosis": "Viral fever",
            "follow_up_on": india_today() + timedelta(days=5),
        },
        medicines=[PARACETAMOL],
    )


def test_it_stores_the_pdf_and_sends_one_sms_and_one_email(visit, worker, send_to_worker):
    account = visit.patient.account
    account.email = "sunita@example.in"
    account.save(update_fields=["email"])
    draft = written(visit)
    send_to_worker()

    final = services.finalise(draft, doctor=visit.doctor)  # commits: the worker takes over

    reference = f"prescription-ready:{final.public_id}:sms"
    worker.wait_until(
        lambda: Prescription.objects.filter(pk=final.pk).exclude(pdf="").exists(), "stored PDF"
    )
    worker.wait_until(lambda: worker.sms(reference), "SMS")
    worker.wait_until(worker.emails, "e-mail")
    final.refresh_from_db()
    assert (worker.media_root / final.pdf.name).is_file()

    # The same tasks again, as a redelivered broker message would run them.
    sms_notification = Notification.objects.get(idempotency_key=reference)
    render_prescription.delay(final.pk)
    deliver_notification.delay(sms_notification.pk)
    worker.wait_until(lambda: worker.task_log_lines(render_prescription) >= 4, "second PDF run")
    worker.wait_until(lambda: worker.task_log_lines(deliver_notification) >= 6, "third delivery")
    time.sleep(QUIET_SECONDS)

    (sms,) = worker.sms(reference)
    assert sms["to"] == account.mobile
    assert f"{PUBLIC_BASE_URL}/prescriptions/{final.public_id}/pdf/" in sms["body"]
    assert final.display_number in sms["body"]
    (email,) = worker.emails()
    assert "sunita@example.in" in email
    assert f"{PUBLIC_BASE_URL}/prescriptions/{final.public_id}/pdf/" in email
    sent = Notification.objects.filter(about=final.public_id)
    assert {(n.channel, n.status, n.attempts) for n in sent} == {
        ("sms", "sent", 1),
        ("email", "sent", 1),
    }
