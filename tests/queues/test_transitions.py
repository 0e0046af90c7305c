"""``Ticket.transition``: one compare-and-set per change of status, with its event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from queues.models import Ticket, TicketEvent
from queues.services.booking import book
from tests.factories import DoctorFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(opd) -> Ticket:
    patient = PatientFactory()
    return book(account=patient.account, patient=patient, opd=opd, complaint="Fever")


def test_it_moves_the_ticket_and_records_the_event(ticket):
    doctor = DoctorFactory()
    now = timezone.now()
    deadline = now + timedelta(seconds=30)
    won = ticket.transition(
        Ticket.Status.OFFERED,
        event=TicketEvent.Kind.OFFERED,
        at=now,
        doctor=doctor,
        offer_expires_at=deadline,
    )
    assert won
    assert ticket.status == Ticket.Status.OFFERED and ticket.doctor_id == doctor.pk
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.status, stored.doctor_id) == (Ticket.Status.OFFERED, doctor.pk)
    assert (stored.status_changed_at, stored.offer_expires_at) == (now, deadline)
    event = ticket.events.get(kind=TicketEvent.Kind.OFFERED)
    assert (event.at, event.doctor_id, event.actor_id, event.detail) == (now, doctor.pk, None, {})


def test_it_loses_when_the_ticket_changed_first(ticket):
    now = timezone.now()
    stale = Ticket.objects.get(pk=ticket.pk)
    assert ticket.transition(Ticket.Status.LEFT, event=TicketEvent.Kind.LEFT, at=now)
    assert not stale.transition(Ticket.Status.LEFT, event=TicketEvent.Kind.LEFT, at=now)
    assert not stale.transition(
        Ticket.Status.CANCELLED, event=TicketEvent.Kind.CLOSED, at=now, source=["waiting"]
    )
    assert ticket.events.filter(kind=TicketEvent.Kind.LEFT).count() == 1
    assert not ticket.events.filter(kind=TicketEvent.Kind.CLOSED).exists()


def test_it_checks_the_extra_condition_and_the_holder(ticket):
    doctor, other = DoctorFactory(), DoctorFactory()
    now = timezone.now()
    ticket.transition(Ticket.Status.OFFERED, event="offered", at=now, doctor=doctor)
    assert not ticket.transition(
        Ticket.Status.CALLED, event=TicketEvent.Kind.ACCEPTED, at=now, held_by=other
    )
    assert not ticket.transition(
        Ticket.Status.WAITING,
        event=TicketEvent.Kind.OFFER_EXPIRED,
        at=now,
        only_if=Q(offer_expires_at__lte=now),
    )
    assert ticket.transition(
        Ticket.Status.WAITING, event=TicketEvent.Kind.SKIPPED, at=now, held_by=doctor
    )
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.status, stored.doctor_id) == (Ticket.Status.WAITING, None)
    # The event names the doctor who held the ticket before it went back.
    assert ticket.events.get(kind=TicketEvent.Kind.SKIPPED).doctor_id == doctor.pk


def test_it_stamps_the_consultation_times(ticket):
    doctor = DoctorFactory()
    t0 = timezone.now()
    t1, t2 = t0 + timedelta(seconds=5), t0 + timedelta(minutes=7)
    ticket.transition(Ticket.Status.OFFERED, event="offered", at=t0, doctor=doctor)
    ticket.transition(Ticket.Status.CALLED, event="accepted", at=t0, call_expires_at=t1)
    ticket.transition(Ticket.Status.IN_CONSULTATION, event="answered", at=t1)
    ticket.transition(Ticket.Status.COMPLETED, event="completed", at=t2)
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.consult_started_at, stored.consult_ended_at) == (t1, t2)
    assert (stored.call_expires_at, stored.doctor_id) == (None, doctor.pk)


def test_it_refuses_a_change_no_ticket_makes(ticket):
    with pytest.raises(ValueError):
        ticket.transition(
            Ticket.Status.COMPLETED,
            event=TicketEvent.Kind.COMPLETED,
            at=timezone.now(),
            source=[Ticket.Status.WAITING],
        )
