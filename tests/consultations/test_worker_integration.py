"""Finalising a prescription with a real Celery worker: the PDF is stored, the family gets one
SMS and one e-mail, and a duplicated task sends nothing more.

The worker (``celery worker --pool=solo``) runs against the test database on a private
``redis-server`` broker started for this test, and sends SMS through ``FileSmsBackend`` and
e-mail through Django's file backend, so the test reads what went out. This process keeps eager
mode for everything before the test switches its Celery app to that broker.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from consultations import services
from consultations.models import Prescription
from consultations.selectors import consultation_for_doctor
from consultations.tasks import render_prescription
from core.clock import india_today
from esanjeevani.celery import app
from notifications.models import Notification
from notifications.tasks import deliver_notification
from tests.e2e.processes import ManagedProcess, answers_redis, free_port

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BIN = Path(sys.executable).parent
PUBLIC_BASE_URL = "https://esanjeevani.example.in"
# Rendering a PDF with fonts takes a few seconds on a loaded machine.
WORKER_WAIT_SECONDS = 60.0
# After the first message: long enough for a duplicate to show up if one were coming.
QUIET_SECONDS = 3.0

PARACETAMOL = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
}  # fmt: skip


def _test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("The worker test shares PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


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
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.fail("The worker test needs redis-server on PATH for a private Celery broker.")
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    broker_port = free_port()
    var = tmp_path / "var"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "SMS_", "EMAIL_", "PYTEST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="esanjeevani.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{broker_port}/0",
        CELERY_TASK_ALWAYS_EAGER="0",
        SECRET_KEY="worker-" + uuid.uuid4().hex + uuid.uuid4().hex,
        DEBUG="0",
        VAR_DIR=str(var),
        SMS_BACKEND="notifications.sms.FileSmsBackend",
        SMS_FILE_PATH=str(tmp_path / "sms.jsonl"),
        EMAIL_URL="filemail://",  # into VAR_DIR/mail
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        PYTHONUNBUFFERED="1",
    )
    broker = ManagedProcess(
        "redis-server (broker)",
        [redis_server, "--bind", "127.0.0.1", "--port", str(broker_port), "--save", ""],
        tmp_path / "broker.log",
        env,
    )
    process = ManagedProcess(
        "celery worker",
        [
            str(BIN / "celery"),
            *("-A", "esanjeevani", "worker", "--pool=solo", "--concurrency=1", "-Q", "default"),
            *("--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
            *("-n", f"rx-{uuid.uuid4().hex[:8]}@%h"),
        ],
        tmp_path / "worker.log",
        env,
    )
    try:
        broker.start()
        broker.wait_until(lambda: answers_redis(broker_port), "answering PING")
        process.start()
        process.wait_until(lambda: " ready." in process.log(), "ready")
        yield Worker(
            broker_url=f"redis://127.0.0.1:{broker_port}/0",
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
def send_to_worker(worker: Worker, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Call it to make this process send tasks to the worker's broker instead of running them
    (after the test's set-up, which runs its own tasks eagerly)."""
    pools: list[Any] = []

    def switch() -> None:
        monkeypatch.setitem(app.conf, "task_always_eager", value=False)
        monkeypatch.setitem(app.conf, "broker_url", worker.broker_url)
        # Producers are pooled per broker: forget any pool made for the default broker.
        monkeypatch.setattr(app, "_pool", None)
        monkeypatch.setattr(app.amqp, "_producer_pool", None)
        pools.append(app.amqp)

    yield switch
    for amqp in pools:
        if amqp._producer_pool is not None:
            amqp._producer_pool.force_close_all()


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
