"""The routing policy as the claim service applies it, and the end of an OPD's day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.clock import IST
from core.models import Language
from queues.models import DoctorPresence, Ticket, TicketEvent
from queues.services.booking import book
from queues.services.dispatch import claim_next_ticket
from queues.services.timers import close_finished_days
from tests.factories import PatientFactory
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db


def booked(opd, language="hi", **patient_fields):
    patient = PatientFactory(
        preferred_language=Language.objects.get(code=language), **patient_fields
    )
    with transaction.atomic():
        return book(account=patient.account, patient=patient, opd=opd, complaint="Fever")


def test_a_patient_waits_briefly_for_a_doctor_who_speaks_their_language(opd, on_duty):
    tamil_doctor = on_duty(opd, languages=["ta"])
    DoctorPresence.objects.filter(doctor=tamil_doctor).update(paused=True)  # busy elsewhere
    tamil_patient = booked(opd, "ta")
    hindi_patient = booked(opd, "hi")
    hindi_doctor = on_duty(opd, languages=["hi"])
    DoctorPresence.objects.filter(doctor=hindi_doctor).update(paused=True)
    offer = claim_next_ticket(hindi_doctor)
    assert offer is not None
    assert offer.pk == hindi_patient.pk
    tamil_patient.refresh_from_db()
    assert tamil_patient.passed_over_since is not None


def test_the_language_preference_never_holds_a_patient_past_the_cap(opd, on_duty, settings):
    settings.QUEUE_LANGUAGE_CAP_SECONDS = 300
    tamil_doctor = on_duty(opd, languages=["ta"])
    DoctorPresence.objects.filter(doctor=tamil_doctor).update(paused=True)
    tamil_patient = booked(opd, "ta")
    booked(opd, "hi")
    hindi_doctor = on_duty(opd, languages=["hi"])
    Ticket.objects.filter(pk=tamil_patient.pk).update(
        passed_over_since=timezone.now() - timedelta(seconds=301)
    )
    Ticket.objects.filter(doctor=hindi_doctor).update(status=Ticket.Status.WAITING, doctor=None)
    offer = claim_next_ticket(hindi_doctor)
    assert offer is not None
    assert offer.pk == tamil_patient.pk


def test_seniors_are_offered_before_earlier_bookings(
    opd, on_duty, django_capture_on_commit_callbacks
):
    booked(opd)
    senior = booked(opd, date_of_birth=date(1950, 3, 1))
    with django_capture_on_commit_callbacks(execute=True):
        doctor = on_duty(opd)
    assert Ticket.objects.get(doctor=doctor).pk == senior.pk


def test_waiting_tokens_close_when_the_opd_closes_for_the_day(
    sms_outbox, django_capture_on_commit_callbacks
):
    opd = make_opd("DY", hours=(time(9, 0), time(13, 0)))
    morning = datetime(2026, 11, 25, 10, 0, tzinfo=IST)
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = book(
            account=patient.account, patient=patient, opd=opd, complaint="Cough", now=morning
        )
    assert close_finished_days(datetime(2026, 11, 25, 12, 59, tzinfo=IST)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert close_finished_days(datetime(2026, 11, 25, 13, 1, tzinfo=IST)) == 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED
    assert ticket.events.filter(kind=TicketEvent.Kind.CLOSED).exists()
    assert "closed for today" in sms_outbox[-1].body


def test_an_opd_open_round_the_clock_carries_its_queue_over_midnight(opd):
    ticket = booked(opd)
    after_midnight = (timezone.now() + timedelta(days=1)).astimezone(IST).replace(hour=0, minute=5)
    assert close_finished_days(after_midnight) == 0
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING
