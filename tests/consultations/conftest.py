from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from queues.models import DoctorPresence, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from tests.factories import DoctorFactory, PatientFactory
from tests.queues.conftest import make_opd


@pytest.fixture
def visit(db, django_capture_on_commit_callbacks) -> Ticket:
    """A patient in consultation with a doctor (ticket ``in_consultation``)."""
    opd = make_opd("RX")
    patient = PatientFactory(name="Sunita Devi")
    run = django_capture_on_commit_callbacks
    with run(execute=True), transaction.atomic():
        ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Fever")
    doctor = DoctorFactory(user__full_name="Dr Asha Verma", registration_number="UPMC-45821")
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    with run(execute=True):
        duty.go_on_duty(doctor, [opd.pk])  # offers the ticket once this commits
    ticket.refresh_from_db()
    with run(execute=True):
        visits.accept_offer(doctor, ticket)
    with run(execute=True):
        visits.answer_call(patient.account, Ticket.objects.get(pk=ticket.pk))
    return Ticket.objects.select_related("doctor__user", "patient__account").get(pk=ticket.pk)
