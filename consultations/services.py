"""Opening a consultation; writing, finalising and correcting its prescription."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from consultations import documents, validation
from consultations.models import Consultation, MedicineLine, Prescription, PrescriptionCounter
from core import outbox
from core.clock import IST
from core.errors import Conflict, Invalid
from providers.models import Doctor
from queues.models import Ticket

CONTENT_FIELDS = (
    "chief_complaints", "history", "vitals", "examination", "diagnosis", "icd10_code",
    "investigations", "advice", "follow_up_on", "referral",
)  # fmt: skip
MEDICINE_FIELDS = (
    "name", "strength", "dosage_form", "dose", "frequency", "duration_days", "route", "timing",
    "instructions",
)  # fmt: skip
# Sent by name through the outbox: services do not import tasks.
RENDER_TASK = "consultations.tasks.render_prescription"


def start_consultation(ticket: Ticket, *, started_at: datetime) -> Consultation:
    """The visit's record, opened when the patient answers the call: the consultation and its
    first draft, started from the ticket's complaint. Once only: a ticket answered again keeps
    its record."""
    if ticket.doctor_id is None:
        raise ValueError("A consultation starts with the ticket's doctor.")
    consultation, _created = Consultation.objects.get_or_create(
        ticket=ticket,
        defaults={
            "patient_id": ticket.patient_id,
            "doctor_id": ticket.doctor_id,
            "opd_id": ticket.opd_id,
            "started_at": started_at,
        },
    )
    if not consultation.prescriptions.exists():
        Prescription.objects.create(
            consultation=consultation, version=1, chief_complaints=ticket.complaint
        )
    return consultation


def consultation_started(sender: object, *, ticket: Ticket, at: datetime, **kwargs: Any) -> None:
    """Receives ``queues.signals.consultation_started`` (connected in ``consultations.apps``),
    inside the transaction that put the ticket in consultation."""
    start_consultation(ticket, started_at=at)


def draft_for(consultation: Consultation) -> Prescription:
    """The consultation's draft, for a write. ``start_consultation`` made the first one; a
    record opened without it (seeded history) gets it here, from the ticket's complaint."""
    draft = consultation.prescriptions.filter(status=Prescription.Status.DRAFT).first()
    if draft is not None:
        return draft
    if consultation.prescriptions.exists():
        raise Conflict(
            _("This prescription is final. Start a correction to change it."), code="finalised"
        )
    draft, _created = Prescription.objects.get_or_create(
        consultation=consultation,
        status=Prescription.Status.DRAFT,
        defaults={"version": 1, "chief_complaints": consultation.ticket.complaint},
    )
    return draft


def save_draft(
    prescription: Prescription, *, data: dict[str, Any], medicines: list[dict[str, Any]]
) -> Prescription:
    """Autosave: everything the doctor has written so far (already checked field by field)."""
    with transaction.atomic():
        locked = Prescription.objects.select_for_update().get(pk=prescription.pk)
        if locked.status != Prescription.Status.DRAFT:
            raise Conflict(
                _("This prescription is final. Start a correction to change it."),
                code="finalised",
            )
        for name in CONTENT_FIELDS:
            if name in data:
                setattr(locked, name, data[name])
        locked.save()
        locked.medicines.all().delete()
        MedicineLine.objects.bulk_create(
            [
                MedicineLine(prescription=locked, position=index, **_medicine(line))
                for index, line in enumerate(medicines)
            ]
        )
    return locked


def _medicine(line: dict[str, Any]) -> dict[str, Any]:
    return {name: line[name] for name in MEDICINE_FIELDS if name in line and line[name] is not None}


def _next_number(now: datetime) -> str:
    year = now.astimezone(IST).year
    PrescriptionCounter.objects.get_or_create(year=year)
    counter = PrescriptionCounter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"RX{year}-{counter.last:07d}"


def finalise(
    prescription: Prescription, *, doctor: Doctor, now: datetime | None = None
) -> Prescription:
    """Sign the draft: it becomes immutable and numbered, and goes to the patient."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Prescription.objects.select_for_update()
            .select_related("consultation")
            .get(pk=prescription.pk)
        )
        if locked.status != Prescription.Status.DRAFT:
            raise Conflict(_("This prescription is already final."), code="finalised")
        if locked.consultation.doctor_id != doctor.pk:
            raise Invalid(_("Only the consultation's doctor can sign it."), code="not_your_patient")
        if not doctor.registration_number:
            raise Invalid(
                _("Your registration number is missing; it must be on every prescription."),
                code="no_registration",
            )
        data = {name: getattr(locked, name) for name in CONTENT_FIELDS}
        medicines = [
            {name: getattr(line, name) for name in MEDICINE_FIELDS}
            for line in locked.medicines.all()
        ]
        problems = validation.finalise_problems(data, medicines, now.astimezone(IST).date())
        if problems:
            raise Invalid(
                _("Some of the prescription is missing."), code="incomplete", fields=problems
            )
        if locked.supersedes_id is not None:
            previous = Prescription.objects.select_for_update().get(pk=locked.supersedes_id)
            previous.status = Prescription.Status.SUPERSEDED
            previous.save(update_fields=["status", "updated_at"])
            locked.number = previous.number
        else:
            locked.number = _next_number(now)
        locked.status = Prescription.Status.FINAL
        locked.finalised_at = now
        locked.verification_code = secrets.token_urlsafe(18)
        locked.save()
        _after_finalise(locked)
    return locked


def _after_finalise(prescription: Prescription) -> None:
    """Render the PDF, then tell the patient and the apps that listen (ABDM): recorded in the
    signing transaction (outbox), sent to Celery after the commit and again by the relay until
    it is done (``consultations.documents.render_and_store``)."""
    outbox.enqueue(RENDER_TASK, prescription.pk, key=documents.render_key(prescription.pk))


def start_correction(final: Prescription, *, doctor: Doctor) -> Prescription:
    """A new version of a final prescription: a draft that will supersede it when signed."""
    with transaction.atomic():
        locked = (
            Prescription.objects.select_for_update().select_related("consultation").get(pk=final.pk)
        )
        if locked.consultation.doctor_id != doctor.pk:
            raise Invalid(
                _("Only the consultation's doctor can correct it."), code="not_your_patient"
            )
        if locked.status != Prescription.Status.FINAL:
            raise Conflict(_("Only the current prescription can be corrected."), code="not_current")
        existing = locked.consultation.prescriptions.filter(
            status=Prescription.Status.DRAFT
        ).first()
        if existing is not None:
            return existing
        version = (
            locked.consultation.prescriptions.aggregate(last=Max("version"))["last"] or 0
        ) + 1
        draft = Prescription.objects.create(
            consultation=locked.consultation,
            version=version,
            supersedes=locked,
            **{name: getattr(locked, name) for name in CONTENT_FIELDS},
        )
        MedicineLine.objects.bulk_create(
            [
                MedicineLine(
                    prescription=draft,
                    position=line.position,
                    **{name: getattr(line, name) for name in MEDICINE_FIELDS},
                )
                for line in locked.medicines.all()
            ]
        )
    return draft
