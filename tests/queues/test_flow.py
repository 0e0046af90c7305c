"""From waiting to the end of the visit, with the timers driven by a controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import Conflict
from queues.models import DoctorPresence, DutyShift, Ticket, TicketEvent
from queues.selectors import position_of
from queues.services import duty, visits
from queues.services.booking import book
from queues.services.dispatch import claim_next_ticket
from queues.services.timers import sweep
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a service call with its after-commit work (SMS, messages, dispatch)."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


@pytest.fixture
def queue(opd, run, sms_outbox):
    """Three patients waiting, in booking order."""

    def make(n=3):
        tickets = []
        for _ in range(n):
            patient = PatientFactory()
            tickets.append(
                run(book, account=patient.account, patient=patient, opd=opd, complaint="Fever")
            )
        return tickets

    return make


def fresh(ticket: Ticket) -> Ticket:
    ticket.refresh_from_db()
    return ticket


def test_a_doctor_going_on_duty_is_offered_the_first_patient(opd, queue, on_duty, run):
    first, second, _third = queue()
    doctor = run(on_duty, opd)
    assert fresh(first).status == Ticket.Status.OFFERED
    assert first.doctor == doctor
    assert fresh(second).status == Ticket.Status.WAITING
    assert position_of(second) == 1


def test_positions_fall_as_patients_are_taken(opd, queue, on_duty, run):
    _first, second, third = queue()
    assert position_of(third) == 3
    run(on_duty, opd)
    assert position_of(fresh(third)) == 2
    assert position_of(fresh(second)) == 1


def test_accept_answer_and_end(opd, queue, on_duty, run):
    first, second, _ = queue()
    doctor = run(on_duty, opd)
    run(visits.accept_offer, doctor, fresh(first))
    assert fresh(first).status == Ticket.Status.CALLED
    assert first.call_expires_at is not None
    run(visits.answer_call, first.patient.account, fresh(first))
    assert fresh(first).status == Ticket.Status.IN_CONSULTATION
    run(visits.end_consultation, doctor, fresh(first))
    assert fresh(first).status == Ticket.Status.COMPLETED
    # Free again: the next patient is offered at once.
    assert fresh(second).status == Ticket.Status.OFFERED
    assert second.doctor == doctor
    kinds = list(first.events.values_list("kind", flat=True))
    assert kinds == ["booked", "offered", "accepted", "answered", "completed"]


def test_a_doctor_never_holds_two_patients(opd, queue, on_duty, run):
    _first, second, _ = queue()
    doctor = run(on_duty, opd)
    assert run(claim_next_ticket, doctor) is None
    assert Ticket.objects.filter(doctor=doctor, status__in=Ticket.HELD).count() == 1
    assert fresh(second).status == Ticket.Status.WAITING


def test_a_skipped_patient_keeps_their_place_and_goes_to_another_doctor(opd, queue, on_duty, run):
    first, second, _ = queue()
    meera = run(on_duty, opd)
    run(visits.skip_offer, meera, fresh(first), reason="language")
    assert fresh(second).doctor == meera  # she is offered the next patient
    assert fresh(first).status == Ticket.Status.WAITING
    assert position_of(first) == 1
    ravi = run(on_duty, opd)
    assert fresh(first).doctor == ravi
    skipped = first.events.get(kind=TicketEvent.Kind.SKIPPED)
    assert skipped.detail["reason"] == "language"
    assert skipped.actor == meera.user


def test_only_the_offered_doctor_can_accept(opd, queue, on_duty, run):
    first, *_ = queue()
    run(on_duty, opd)
    other = run(on_duty, opd)
    with pytest.raises(Conflict):
        run(visits.accept_offer, other, fresh(first))


def test_call_now_missed_once_goes_back_to_the_head(opd, queue, on_duty, run):
    first, second, _third = queue()
    doctor = run(on_duty, opd)
    run(visits.accept_offer, doctor, fresh(first))
    DoctorPresence.objects.update(paused=True)  # keep the doctor from taking the next at once
    later = timezone.now() + timedelta(seconds=121)
    run(sweep, now=later)
    first = fresh(first)
    assert first.status == Ticket.Status.WAITING
    assert first.missed_calls == 1
    assert position_of(first) == 1
    assert position_of(fresh(second)) == 2
    assert first.events.filter(kind=TicketEvent.Kind.CALL_MISSED).exists()


def test_call_now_missed_twice_is_a_no_show(opd, queue, on_duty, run):
    first, *_ = queue(1)
    doctor = run(on_duty, opd)
    run(visits.accept_offer, doctor, fresh(first))
    t = timezone.now()
    for _round in range(2):
        t += timedelta(seconds=121)
        DoctorPresence.objects.update(console_seen_at=t)
        run(sweep, now=t)
        if fresh(first).status == Ticket.Status.OFFERED:
            run(visits.accept_offer, doctor, fresh(first), now=t)
    assert fresh(first).status == Ticket.Status.NO_SHOW


def test_an_answer_after_the_deadline_is_refused(opd, queue, on_duty, run):
    first, *_ = queue(1)
    doctor = run(on_duty, opd)
    run(visits.accept_offer, doctor, fresh(first))
    with pytest.raises(Conflict):
        run(
            visits.answer_call,
            first.patient.account,
            fresh(first),
            now=timezone.now() + timedelta(seconds=125),
        )


def test_an_unanswered_offer_returns_the_patient_and_pauses_the_doctor(opd, queue, on_duty, run):
    first, *_ = queue()
    doctor = run(on_duty, opd)
    later = timezone.now() + timedelta(seconds=61)
    DoctorPresence.objects.update(console_seen_at=later)
    run(sweep, now=later)
    assert fresh(first).status == Ticket.Status.WAITING
    assert position_of(first) == 1
    assert DoctorPresence.objects.get(doctor=doctor).paused is True
    run(duty.resume, doctor)
    assert fresh(first).doctor == doctor


def test_a_disconnected_doctor_goes_off_duty_and_the_patient_returns(opd, queue, on_duty, run):
    first, *_ = queue()
    doctor = run(on_duty, opd)
    assert fresh(first).status == Ticket.Status.OFFERED
    run(sweep, now=timezone.now() + timedelta(seconds=46))
    assert fresh(first).status == Ticket.Status.WAITING
    assert position_of(first) == 1
    shift = DutyShift.objects.get(doctor=doctor)
    assert shift.ended_at is not None
    assert shift.end_reason == "disconnected"


def test_a_consultation_survives_a_console_drop(opd, queue, on_duty, run):
    first, *_ = queue(1)
    doctor = run(on_duty, opd)
    run(visits.accept_offer, doctor, fresh(first))
    run(visits.answer_call, first.patient.account, fresh(first))
    run(sweep, now=timezone.now() + timedelta(seconds=46))
    assert fresh(first).status == Ticket.Status.IN_CONSULTATION


def test_a_patient_who_closed_the_page_keeps_the_place_for_the_grace_period(
    opd, queue, on_duty, run
):
    first, second, _ = queue()
    visits.patient_away(first)
    doctor = run(on_duty, opd)
    assert fresh(second).doctor == doctor  # the absent patient is not offered
    assert position_of(fresh(first)) == 1  # but keeps the place
    run(sweep, now=timezone.now() + timedelta(seconds=599))
    assert fresh(first).status == Ticket.Status.WAITING
    run(sweep, now=timezone.now() + timedelta(seconds=601))
    assert fresh(first).status == Ticket.Status.LEFT


def test_a_patient_can_cancel(opd, queue, run):
    first, second, _ = queue()
    run(visits.cancel_ticket, first.patient.account, fresh(first))
    assert fresh(first).status == Ticket.Status.CANCELLED
    assert position_of(fresh(second)) == 1
    with pytest.raises(Conflict):
        run(visits.cancel_ticket, first.patient.account, fresh(first))


def test_the_turn_near_sms_is_sent_once_at_position_three(opd, queue, run, sms_outbox):
    tickets = queue(5)
    # The first three were booked within three of the front: their one text said so.
    assert [("turn is near:" in m.body) for m in sms_outbox] == [True] * 3 + [False] * 2
    sms_outbox.clear()
    run(sweep)
    assert sms_outbox == []
    run(visits.cancel_ticket, tickets[0].booked_by, fresh(tickets[0]))  # the fourth is third
    run(sweep)
    run(sweep)
    assert [m.to for m in sms_outbox] == [tickets[3].booked_by.mobile]
    assert "turn of" in sms_outbox[0].body


def test_fair_sharing_between_two_free_doctors(opd, queue, on_duty, run):
    queue(4)
    a = run(on_duty, opd)
    b = run(on_duty, opd)
    assert Ticket.objects.filter(doctor=a).count() == 1
    assert Ticket.objects.filter(doctor=b).count() == 1


def test_a_patient_back_from_a_missed_call_gets_a_place_of_their_own(opd, queue, on_duty, run):
    """Their new key must not be one already held by a patient with a doctor."""
    first, second, third = queue()
    meera = run(on_duty, opd)  # offered `first`
    run(visits.accept_offer, meera, fresh(first))
    run(visits.answer_call, first.patient.account, fresh(first))  # first is with Meera
    ravi = run(on_duty, opd)  # offered `second`
    run(visits.skip_offer, ravi, fresh(second), reason="language")  # second back at the head
    third = fresh(third)
    if third.doctor != ravi:  # Ravi was offered the next patient in line
        third = Ticket.objects.get(doctor=ravi, status=Ticket.Status.OFFERED)
    run(visits.accept_offer, ravi, third)
    DoctorPresence.objects.update(paused=True)
    run(sweep, now=timezone.now() + timedelta(seconds=121))
    keys = [(t.priority, t.seq) for t in Ticket.objects.filter(opd=opd, status__in=Ticket.ACTIVE)]
    assert len(keys) == len(set(keys))
    assert position_of(fresh(third)) == 1


RELEASES = {
    TicketEvent.Kind.COMPLETED,
    TicketEvent.Kind.SKIPPED,
    TicketEvent.Kind.OFFER_EXPIRED,
    TicketEvent.Kind.DOCTOR_LOST,
    TicketEvent.Kind.CALL_MISSED,
    TicketEvent.Kind.NO_SHOW,
    TicketEvent.Kind.CANCELLED,
}


def assert_one_patient_at_a_time(doctor) -> None:
    """Read in time order, a doctor's events never show two patients held at once."""
    holding = None
    events = TicketEvent.objects.filter(doctor=doctor).order_by("at", "id")
    story = [(e.at.isoformat(), e.kind, e.ticket_id) for e in events]
    for event in events:
        if event.kind == TicketEvent.Kind.OFFERED:
            assert holding is None, f"offered {event.ticket_id} while holding {holding}: {story}"
            holding = event.ticket_id
        elif event.kind in RELEASES and event.ticket_id == holding:
            holding = None


def test_a_sweep_stamps_each_event_when_it_happens(opd, queue, on_duty, run):
    """A sweep's clock is read when it starts; a doctor who completes a consultation while it
    runs is offered the next patient by it, and that offer must not read as made earlier."""
    first, second, _ = queue()
    doctor = run(on_duty, opd)
    run(visits.accept_offer, doctor, fresh(first))
    run(visits.answer_call, first.patient.account, fresh(first))
    sweep_started = timezone.now()
    visits.end_consultation(doctor, fresh(first))  # its own dispatch has not run yet
    run(sweep, now=sweep_started)
    assert fresh(second).doctor == doctor
    assert_one_patient_at_a_time(doctor)


def test_events_of_a_doctor_lost_by_a_sweep_follow_the_doctors_own(opd, queue, on_duty, run):
    first, *_ = queue()
    doctor = run(on_duty, opd)
    offered = TicketEvent.objects.get(ticket=first, kind=TicketEvent.Kind.OFFERED)
    # A sweep whose clock says the console is long silent, read before the offer was written.
    DoctorPresence.objects.update(console_seen_at=offered.at - timedelta(seconds=60))
    run(sweep, now=offered.at - timedelta(milliseconds=5))
    lost = TicketEvent.objects.get(ticket=first, kind=TicketEvent.Kind.DOCTOR_LOST)
    assert lost.at > offered.at
    assert_one_patient_at_a_time(doctor)
