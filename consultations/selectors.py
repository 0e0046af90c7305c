"""Who may see which consultations and prescriptions.

A patient's family account sees its members' finalised prescriptions (never a draft); the doctor
a consultation was assigned to sees everything of it; nobody else sees anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext

from accounts.models import User
from consultations.models import Consultation, Prescription
from core.clock import india_now
from core.errors import NotFound
from core.ids import parse_uuid
from providers.models import Doctor
from providers.selectors import doctor_of
from queues.models import Ticket

WRITABLE_TICKET_STATUSES = (Ticket.Status.IN_CONSULTATION, Ticket.Status.COMPLETED)
FINISHED_SHOWN = 10  # on the console


def consultation_for_doctor(doctor: Doctor, ticket_id: uuid.UUID | str) -> Consultation:
    """The consultation of a ticket assigned to this doctor, once the patient has joined (it is
    opened then, by ``services.start_consultation``); 404 for anyone else's, and before."""
    parsed = parse_uuid(ticket_id)
    consultation = (
        Consultation.objects.select_related("ticket", "patient")
        .filter(
            ticket__public_id=parsed,
            ticket__doctor=doctor,
            ticket__status__in=WRITABLE_TICKET_STATUSES,
        )
        .first()
        if parsed
        else None
    )
    if consultation is None:
        raise NotFound(gettext("No such consultation in your care."))
    return consultation


def current_prescription(consultation: Consultation) -> Prescription:
    """What the doctor is working on: the draft, else the signed version. Every consultation
    has one from its start (``services.start_consultation``)."""
    found = (
        consultation.prescriptions.exclude(status=Prescription.Status.SUPERSEDED)
        .prefetch_related("medicines")
        .order_by("status", "-version")  # "draft" sorts before "final"
        .first()
    )
    if found is None:
        raise NotFound(gettext("No such consultation in your care."))
    return found


def draft_of(consultation: Consultation) -> Prescription | None:
    """The draft being written, or ``None`` once signed (until a correction starts)."""
    return consultation.prescriptions.filter(status=Prescription.Status.DRAFT).first()


def finished_today(doctor: Doctor, limit: int = FINISHED_SHOWN) -> QuerySet[Ticket]:
    """The doctor's consultations that ended today (IST), newest first, each with ``signed``:
    whether its prescription has been signed yet."""
    midnight = india_now().replace(hour=0, minute=0, second=0, microsecond=0)
    signed = Prescription.objects.filter(
        consultation__ticket=OuterRef("pk"), status=Prescription.Status.FINAL
    )
    return (
        Ticket.objects.filter(
            doctor=doctor, status=Ticket.Status.COMPLETED, consult_ended_at__gte=midnight
        )
        .select_related("opd", "patient")
        .annotate(signed=Exists(signed))
        .order_by("-consult_ended_at")[:limit]
    )


def prescriptions_for(user: User) -> QuerySet[Prescription]:
    related = Prescription.objects.select_related(
        "consultation__patient",
        "consultation__doctor__user",
        "consultation__opd",
        "consultation__ticket",
    )
    if not user.is_authenticated:
        return related.none()
    if user.is_patient:
        return related.filter(consultation__patient__account=user).exclude(
            status=Prescription.Status.DRAFT
        )
    doctor = doctor_of(user)
    if doctor is not None:
        return related.filter(consultation__doctor=doctor)
    return related.none()


def prescription_for(user: User, public_id: uuid.UUID | str) -> Prescription:
    parsed = parse_uuid(public_id)
    found = prescriptions_for(user).filter(public_id=parsed).first() if parsed else None
    if found is None:
        raise NotFound(gettext("No such prescription."))
    return found


def earlier_prescriptions(consultation: Consultation, limit: int = 10) -> QuerySet[Prescription]:
    """The patient's earlier prescriptions from this service, for the doctor during a visit."""
    return (
        Prescription.objects.filter(
            consultation__patient=consultation.patient, status=Prescription.Status.FINAL
        )
        .exclude(consultation=consultation)
        .select_related("consultation__doctor__user", "consultation__opd")
        .prefetch_related("medicines")
        .order_by("-finalised_at")[:limit]
    )


def history_for(user: User) -> QuerySet[Consultation]:
    """A family's consultations, newest first, with their prescriptions."""
    if not user.is_authenticated or not user.is_patient:
        return Consultation.objects.none()
    return (
        Consultation.objects.filter(patient__account=user)
        .select_related("patient", "doctor__user", "opd", "ticket")
        .prefetch_related("prescriptions")
        .order_by("-started_at")
    )


@dataclass(frozen=True)
class VisitOutcome:
    """What a family needs once a consultation is over: its prescription (the valid signed
    version, or ``None`` while the doctor has not signed one) and the follow-up date."""

    ticket: Ticket
    prescription: Prescription | None

    @property
    def ready(self) -> bool:
        return self.prescription is not None

    @property
    def follow_up_on(self) -> date | None:
        return self.prescription.follow_up_on if self.prescription else None


def visit_outcome(ticket: Ticket) -> VisitOutcome:
    """The outcome of a ticket already scoped to its family (``tickets_for_account``)."""
    prescription = (
        Prescription.objects.filter(consultation__ticket=ticket, status=Prescription.Status.FINAL)
        .order_by("-version")
        .first()
    )
    return VisitOutcome(ticket=ticket, prescription=prescription)


def signed_consultations(patient_ids: Iterable[int]) -> QuerySet[Consultation]:
    """Consultations of these patients whose prescription has been signed (the records ABDM
    may offer as care contexts), oldest first, with what their display needs."""
    signed = Prescription.objects.filter(
        consultation=OuterRef("pk"), status=Prescription.Status.FINAL
    )
    return (
        Consultation.objects.filter(patient_id__in=list(patient_ids))
        .filter(Exists(signed))
        .select_related("opd")
        .order_by("started_at")
    )


def final_prescriptions(
    consultation_ids: Iterable[int], *, signed_from: datetime, signed_to: datetime
) -> QuerySet[Prescription]:
    """The valid signed version of each consultation, signed within [from, to], with every
    relation the FHIR builders read loaded in one go (no query per document)."""
    return (
        Prescription.objects.filter(
            consultation_id__in=list(consultation_ids),
            status=Prescription.Status.FINAL,
            finalised_at__gte=signed_from,
            finalised_at__lte=signed_to,
        )
        .select_related(
            "supersedes",
            "consultation__ticket__opd",
            "consultation__opd__state",
            "consultation__patient__state",
            "consultation__patient__district",
            "consultation__doctor__user",
            "consultation__doctor__facility__state",
            "consultation__doctor__facility__district",
        )
        .prefetch_related("medicines")
    )
