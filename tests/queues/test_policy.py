"""The routing policy as a pure function: no database, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from queues.policy import Candidate, FreeDoctor, choose_ticket, fair_order, queue_order

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
HI = frozenset({"hi"})
TA = frozenset({"ta"})


def c(ticket_id, *, priority=0, seq=None, language="hi", passed=None, skipped=()):
    return Candidate(
        ticket_id=ticket_id,
        priority=priority,
        seq=seq if seq is not None else ticket_id,
        language=language,
        passed_over_since=passed,
        skipped_by=frozenset(skipped),
    )


def pick(doctor_languages, candidates, *, others=frozenset(), doctor_id=1, cap=300):
    choice = choose_ticket(
        doctor_id,
        doctor_languages,
        queue_order(candidates),
        languages_on_duty=others,
        now=NOW,
        language_cap_seconds=cap,
    )
    return choice.ticket.ticket_id if choice else None


def test_first_come_first_served():
    assert pick(HI, [c(3), c(1), c(2)]) == 1


def test_the_priority_class_goes_first():
    assert pick(HI, [c(1), c(2, priority=1, seq=9)]) == 2


def test_within_the_priority_class_it_is_first_come_first_served():
    assert pick(HI, [c(5, priority=1), c(4, priority=1), c(1)]) == 4


def test_a_doctor_passes_a_patient_over_for_a_same_language_doctor_on_duty():
    assert pick(HI, [c(1, language="ta"), c(2)], others=TA) == 2


def test_no_passing_over_when_nobody_on_duty_speaks_the_language():
    assert pick(HI, [c(1, language="ta"), c(2)], others=frozenset({"bn"})) == 1


def test_language_never_holds_a_patient_past_the_cap():
    passed_long_ago = NOW - timedelta(seconds=301)
    assert pick(HI, [c(1, language="ta", passed=passed_long_ago), c(2)], others=TA) == 1


def test_within_the_cap_the_patient_may_still_wait():
    recently = NOW - timedelta(seconds=30)
    assert pick(HI, [c(1, language="ta", passed=recently), c(2)], others=TA) == 2


def test_the_choice_reports_who_was_passed_over():
    choice = choose_ticket(
        1, HI, [c(1, language="ta"), c(2)], languages_on_duty=TA, now=NOW, language_cap_seconds=300
    )
    assert choice is not None
    assert [p.ticket_id for p in choice.passed_over] == [1]


def test_a_doctor_is_not_offered_a_patient_they_skipped():
    assert pick(HI, [c(1, skipped={1}), c(2)], doctor_id=1) == 2
    assert pick(HI, [c(1, skipped={1}), c(2)], doctor_id=7) == 1


def test_nothing_to_offer():
    assert pick(HI, []) is None
    assert pick(HI, [c(1, skipped={1})]) is None


def test_a_patient_without_a_language_suits_every_doctor():
    assert pick(TA, [c(1, language="")], others=HI) == 1


def test_the_doctor_idle_longest_goes_first():
    doctors = [
        FreeDoctor(1, HI, NOW - timedelta(minutes=1)),
        FreeDoctor(2, HI, NOW - timedelta(minutes=9)),
        FreeDoctor(3, HI, None),
    ]
    assert [d.doctor_id for d in fair_order(doctors)] == [3, 2, 1]


def test_token_n_of_two_opds_goes_to_the_earlier_booking():
    # The same seq (each OPD's first token of the day): the lower ticket id was booked first.
    assert pick(HI, [c(7, seq=1), c(3, seq=1)]) == 3
