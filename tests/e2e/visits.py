"""Visits for the browser tests: a doctor on duty and a family whose token the doctor has
accepted, made through the services before the browser opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time as clock_time

from knox.models import AuthToken

from patients.models import Patient
from providers.models import Doctor
from queues.models import DoctorPresence, Opd, OpdHours, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from tests.e2e.support import national
from tests.factories import PatientFactory


def opd_open_round_the_clock() -> Opd:
    opd = Opd.objects.get(state__code="UP", code="GM")
    opd.hours.all().delete()
    OpdHours.objects.bulk_create(
        [
            OpdHours(opd=opd, weekday=day, opens_at=clock_time(0, 0), closes_at=clock_time.max)
            for day in range(7)
        ]
    )
    return opd


@dataclass(frozen=True)
class Visit:
    """What the browser steps need, read before the browser opens (no ORM while it runs)."""

    ticket: Ticket
    mobile: str  # as the patient types it
    api_token: str  # the family's phone app


def called_patient(opd: Opd, doctor: Doctor, name: str = "Sunita Devi") -> Visit:
    """A family's token, offered to the doctor on duty and accepted: CALL NOW is showing."""
    patient: Patient = PatientFactory(name=name, account__preferred_language="en")
    ticket = book(
        account=patient.account, patient=patient, opd=opd, complaint="Fever for three days"
    )
    DoctorPresence.objects.update_or_create(doctor=doctor)
    duty.heartbeat(doctor)
    duty.go_on_duty(doctor, [opd.pk])  # dispatch offers the patient once this commits
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OFFERED, ticket.status
    _instance, token = AuthToken.objects.create(user=patient.account)
    return Visit(
        ticket=visits.accept_offer(doctor, ticket),
        mobile=national(str(patient.account.mobile)),
        api_token=str(token),
    )


def in_consultation(opd: Opd, doctor: Doctor) -> Visit:
    visit = called_patient(opd, doctor)
    visits.answer_call(visit.ticket.patient.account, visit.ticket)
    return visit
