"""Signed prescriptions for the demo history's consultations, with their medicines and the SMS
that announced each (``demo.history``)."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta
from typing import Any

from consultations.announcements import PRESCRIPTION_READY
from consultations.models import Consultation, MedicineLine, Prescription, PrescriptionCounter
from core.clock import IST
from notifications.models import Notification, NotificationAttempt

SIGNED_SHARE = 0.97  # of consultations
SMS_FAILED_SHARE = 0.02
DIAGNOSES = (
    ("Acute upper respiratory infection", "J06.9"),
    ("Viral fever", "A99"),
    ("Essential hypertension", "I10"),
    ("Type 2 diabetes mellitus", "E11.9"),
    ("Dyspepsia", "K30"),
    ("Allergic dermatitis", "L23.9"),
)
MEDICINES: tuple[dict[str, Any], ...] = (
    {"name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
     "frequency": "tds", "duration_days": 3, "timing": "after_food"},
    {"name": "Cetirizine", "strength": "10 mg", "dosage_form": "tablet", "dose": "1 tablet",
     "frequency": "hs", "duration_days": 5, "timing": "any"},
    {"name": "ORS", "strength": "", "dosage_form": "powder", "dose": "1 sachet in 1 litre water",
     "frequency": "sos", "duration_days": 3, "timing": "any"},
    {"name": "Pantoprazole", "strength": "40 mg", "dosage_form": "tablet", "dose": "1 tablet",
     "frequency": "od", "duration_days": 14, "timing": "empty_stomach"},
)  # fmt: skip


def _numbers(year: int, count: int) -> range:
    """``count`` prescription numbers of ``year``, taken from its counter as ``finalise()``
    takes them, so prescriptions signed later in the demo continue after them."""
    counter, _ = PrescriptionCounter.objects.select_for_update().get_or_create(year=year)
    first = counter.last + 1
    counter.last += count
    counter.save(update_fields=["last"])
    return range(first, first + count)


def write_prescriptions(
    consultations: list[Consultation], rng: random.Random, *, signed_share: float = SIGNED_SHARE
) -> list[Prescription]:
    """Within the caller's transaction: a final prescription for most ``consultations`` (saved,
    with their tickets loaded; all of them with ``signed_share=1``), numbered by the IST year it
    was signed in; a draft for the others. Returns the final ones."""
    by_year: dict[int, list[Consultation]] = {}
    unsigned: list[Consultation] = []
    for consultation in consultations:
        ended = consultation.ticket.consult_ended_at
        if ended is not None and rng.random() < signed_share:
            by_year.setdefault(ended.astimezone(IST).year, []).append(consultation)
        else:
            unsigned.append(consultation)
    prescriptions = []
    for year, group in by_year.items():
        for number, consultation in zip(_numbers(year, len(group)), group, strict=True):
            diagnosis, icd10 = rng.choice(DIAGNOSES)
            prescriptions.append(
                Prescription(
                    consultation=consultation,
                    number=f"RX{year}-{number:07d}",
                    status=Prescription.Status.FINAL,
                    chief_complaints=consultation.ticket.complaint,
                    diagnosis=diagnosis,
                    icd10_code=icd10,
                    advice="Plenty of fluids and rest. Come back if not better in 3 days.",
                    created_at=consultation.started_at + timedelta(minutes=1),
                    finalised_at=consultation.ticket.consult_ended_at,
                    verification_code=secrets.token_urlsafe(18),
                )
            )
    Prescription.objects.bulk_create(prescriptions)
    # The rest keep the draft every consultation opens with (services.start_consultation).
    Prescription.objects.bulk_create(
        [
            Prescription(
                consultation=consultation,
                chief_complaints=consultation.ticket.complaint,
                created_at=consultation.started_at,
            )
            for consultation in unsigned
        ]
    )
    MedicineLine.objects.bulk_create(
        [
            MedicineLine(prescription=prescription, position=position, **medicine)
            for prescription in prescriptions
            for position, medicine in enumerate(rng.sample(MEDICINES, rng.randint(1, 2)))
        ]
    )
    _announce(prescriptions, rng)
    return prescriptions


def _announce(prescriptions: list[Prescription], rng: random.Random) -> None:
    """The "prescription ready" SMS of each, as delivered (or given up) at the time."""
    notifications = []
    for prescription in prescriptions:
        assert prescription.finalised_at is not None
        created = prescription.finalised_at + timedelta(seconds=3)
        failed = rng.random() < SMS_FAILED_SHARE
        notifications.append(
            Notification(
                idempotency_key=f"{PRESCRIPTION_READY}:{prescription.public_id}:sms",
                channel=Notification.Channel.SMS,
                recipient=prescription.consultation.patient.account.mobile or "",
                body=f"eSanjeevani: your e-prescription {prescription.number} is ready.",
                topic=PRESCRIPTION_READY,
                about=prescription.public_id,
                status=Notification.Status.FAILED if failed else Notification.Status.SENT,
                attempts=1,
                next_attempt_at=created,
                sent_at=None if failed else created + timedelta(seconds=4),
                last_error="gateway rejected the number" if failed else "",
                created_at=created,
            )
        )
    Notification.objects.bulk_create(notifications)
    NotificationAttempt.objects.bulk_create(
        [
            NotificationAttempt(
                notification=n,
                number=1,
                started_at=n.created_at,
                finished_at=n.created_at + timedelta(seconds=4),
                outcome=NotificationAttempt.Outcome.PERMANENT_FAILURE
                if n.status == Notification.Status.FAILED
                else NotificationAttempt.Outcome.SENT,
            )
            for n in notifications
        ]
    )
