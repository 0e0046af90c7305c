"""Booking a token: rules, refusals, and what the patient receives."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from core.clock import IST, india_today
from core.errors import Conflict, Invalid
from patients.models import Sex
from queues.models import Ticket, TicketEvent
from queues.services.booking import book
from tests.factories import PatientFactory
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db


def book_for(patient, opd, capture, **kwargs):
    with capture(execute=True):
        return book(
            account=patient.account,
            patient=patient,
            opd=opd,
            complaint=kwargs.pop("complaint", "Fever for three days"),
            **kwargs,
        )


def test_a_booking_issues_a_readable_token_and_an_sms(
    opd, sms_outbox, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    ticket = book_for(patient, opd, django_capture_on_commit_callbacks)
    assert ticket.token == "TS-001"
    assert ticket.status == Ticket.Status.WAITING
    assert [m.to for m in sms_outbox] == [patient.account.mobile]
    assert "TS-001" in sms_outbox[0].body
    assert list(ticket.events.values_list("kind", flat=True)) == [TicketEvent.Kind.BOOKED]


def test_tokens_count_up_per_opd(opd, sms_outbox, django_capture_on_commit_callbacks):
    tokens = [
        book_for(PatientFactory(), opd, django_capture_on_commit_callbacks).token for _ in range(3)
    ]
    assert tokens == ["TS-001", "TS-002", "TS-003"]
    other = make_opd("GX")
    assert book_for(PatientFactory(), other, django_capture_on_commit_callbacks).token == "GX-001"


def test_one_active_booking_per_patient_per_opd(
    opd, sms_outbox, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    first = book_for(patient, opd, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict) as error:
        book_for(patient, opd, django_capture_on_commit_callbacks)
    assert error.value.code == "already_booked"
    assert error.value.extra["token"] == first.token
    assert Ticket.objects.count() == 1


def test_a_closed_opd_refuses_with_its_next_opening(sms_outbox, django_capture_on_commit_callbacks):
    closed = make_opd("CL", hours=None)
    with pytest.raises(Conflict) as error:
        book_for(PatientFactory(), closed, django_capture_on_commit_callbacks)
    assert error.value.code == "opd_closed"
    assert not Ticket.objects.exists()


def test_a_closed_opd_names_when_it_opens(
    sms_outbox, django_capture_on_commit_callbacks, monkeypatch
):
    opd = make_opd("MO", hours=(time(9, 0), time(13, 0)))
    evening = datetime(2026, 11, 25, 20, 0, tzinfo=IST)
    with pytest.raises(Conflict) as error, django_capture_on_commit_callbacks(execute=True):
        book(
            account=(p := PatientFactory()).account,
            patient=p,
            opd=opd,
            complaint="Cough",
            now=evening,
        )
    assert str(error.value.extra["next_opening"]).startswith("2026-11-26T09:00:00+05:30")


def test_an_opd_opening_later_today_takes_bookings(sms_outbox, django_capture_on_commit_callbacks):
    opd = make_opd("LT", hours=(time(9, 0), time(13, 0)))
    early = datetime(2026, 11, 25, 7, 30, tzinfo=IST)
    patient = PatientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = book(
            account=patient.account, patient=patient, opd=opd, complaint="Cough", now=early
        )
    assert ticket.status == Ticket.Status.WAITING


def test_the_daily_token_limit(sms_outbox, django_capture_on_commit_callbacks):
    opd = make_opd("DL2", daily_token_limit=2)
    book_for(PatientFactory(), opd, django_capture_on_commit_callbacks)
    book_for(PatientFactory(), opd, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict) as error:
        book_for(PatientFactory(), opd, django_capture_on_commit_callbacks)
    assert error.value.code == "opd_full"


def test_the_waiting_room_size(sms_outbox, django_capture_on_commit_callbacks):
    opd = make_opd("WR", waiting_room_size=1)
    book_for(PatientFactory(), opd, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict) as error:
        book_for(PatientFactory(), opd, django_capture_on_commit_callbacks)
    assert error.value.code == "waiting_room_full"


def test_a_state_opd_serves_its_own_state(sms_outbox, django_capture_on_commit_callbacks):
    bihar = make_opd("BRG", state_code="BR")
    with pytest.raises(Conflict) as error:
        book_for(PatientFactory(), bihar, django_capture_on_commit_callbacks)
    assert error.value.code == "opd_other_state"
    national = make_opd("NAT", state_code=None)
    assert (
        book_for(PatientFactory(), national, django_capture_on_commit_callbacks).token == "NAT-001"
    )


def test_seniors_are_in_the_priority_class(opd, sms_outbox, django_capture_on_commit_callbacks):
    senior = PatientFactory(date_of_birth=date(1950, 1, 1))
    ticket = book_for(senior, opd, django_capture_on_commit_callbacks)
    assert ticket.priority == Ticket.Priority.PRIORITY
    assert ticket.priority_reason == "senior"


def test_declared_pregnancy_is_in_the_priority_class(
    opd, sms_outbox, django_capture_on_commit_callbacks
):
    ticket = book_for(
        PatientFactory(), opd, django_capture_on_commit_callbacks, priority_reason="pregnant"
    )
    assert ticket.priority == Ticket.Priority.PRIORITY
    assert ticket.priority_reason == "pregnant"


# --- Priority claims, checked against the member's record (queues/claims.py) -------------------


def years_ago(years: int) -> date:
    """The date of birth of someone who turns ``years`` today (India)."""
    today = india_today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return date(today.year - years, 2, 28)


def refused_claim(patient, opd, capture, claim) -> Invalid:
    with pytest.raises(Invalid) as error:
        book_for(patient, opd, capture, priority_reason=claim)
    assert error.value.code == "priority_claim_refused"
    assert list(error.value.fields) == ["priority_reason"]
    assert not Ticket.objects.filter(patient=patient).exists()
    return error.value


def test_a_boy_of_five_cannot_be_booked_as_pregnant(
    opd, sms_outbox, django_capture_on_commit_callbacks
):
    boy = PatientFactory(sex=Sex.MALE, date_of_birth=years_ago(5))
    error = refused_claim(boy, opd, django_capture_on_commit_callbacks, "pregnant")
    assert error.fields["priority_reason"] == [
        "Pregnancy cannot be claimed for a member recorded as male."
    ]
    assert sms_outbox == []


@pytest.mark.parametrize("age", [11, 56, 70])
def test_pregnancy_outside_the_ages_12_to_55_is_refused(
    opd, sms_outbox, django_capture_on_commit_callbacks, age
):
    woman = PatientFactory(sex=Sex.FEMALE, date_of_birth=years_ago(age))
    error = refused_claim(woman, opd, django_capture_on_commit_callbacks, "pregnant")
    assert "aged 12 to 55 years" in error.message


@pytest.mark.parametrize(("sex", "age"), [(Sex.FEMALE, 12), (Sex.FEMALE, 55), (Sex.OTHER, 30)])
def test_pregnancy_the_record_allows_is_in_the_priority_class(
    opd, sms_outbox, django_capture_on_commit_callbacks, sex, age
):
    patient = PatientFactory(sex=sex, date_of_birth=years_ago(age))
    ticket = book_for(patient, opd, django_capture_on_commit_callbacks, priority_reason="pregnant")
    assert (ticket.priority, ticket.priority_reason) == (Ticket.Priority.PRIORITY, "pregnant")


def test_priority_for_age_is_not_a_tick_box(opd, sms_outbox, django_capture_on_commit_callbacks):
    fifty_nine = PatientFactory(date_of_birth=years_ago(60) + timedelta(days=1))
    error = refused_claim(fifty_nine, opd, django_capture_on_commit_callbacks, "senior")
    assert "starts at 60 years" in error.message
    sixty = PatientFactory(date_of_birth=years_ago(60))
    ticket = book_for(sixty, opd, django_capture_on_commit_callbacks, priority_reason="senior")
    assert (ticket.priority, ticket.priority_reason) == (Ticket.Priority.PRIORITY, "senior")
    assert ticket.priority_declared_by is None  # it rests on the record, not on anyone's word


def test_a_declared_claim_records_who_declared_it_and_when(
    opd, sms_outbox, django_capture_on_commit_callbacks
):
    boy = PatientFactory(sex=Sex.MALE, date_of_birth=years_ago(5))
    moment = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = book(
            account=boy.account,
            patient=boy,
            opd=opd,
            complaint="Fever",
            priority_reason="disability",
            now=moment,
        )
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_reason) == (Ticket.Priority.PRIORITY, "disability")
    assert ticket.priority_declared_by == boy.account
    assert ticket.priority_declared_at == moment


def test_priority_by_age_records_no_declaration(
    opd, sms_outbox, django_capture_on_commit_callbacks
):
    ticket = book_for(
        PatientFactory(date_of_birth=date(1950, 1, 1)), opd, django_capture_on_commit_callbacks
    )
    assert ticket.priority_reason == "senior"
    assert (ticket.priority_declared_by, ticket.priority_declared_at) == (None, None)
