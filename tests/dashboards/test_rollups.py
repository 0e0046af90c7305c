from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from consultations import services as prescribing
from consultations.models import Prescription
from consultations.selectors import consultation_for_doctor
from core.clock import IST
from dashboards import rollups
from dashboards.models import DayStats, DoctorDayStats, RollupCursor
from dashboards.queries import Trends, trends
from dashboards.selectors import Scope
from queues.models import DutyShift, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from tests.consultations.prescribing import CONTENT, PARACETAMOL
from tests.dashboards.conftest import FIRST_DAY, LAST_DAY, NOW, World, ist, make_ticket
from tests.dashboards.raw import raw_trends
from tests.factories import state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Labels are checked in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


Rows = Callable[[], dict[str, list[tuple[Any, ...]]]]


def _refresh_everything(now: datetime = NOW) -> None:
    rollups.refresh_slices(rollups.slices_between(FIRST_DAY, LAST_DAY, now=now), now=now)


def _today(scope: Scope | None = None) -> Trends:
    today = timezone.now().astimezone(IST).date()
    return trends(scope or Scope(None), today, today)


# --- Rollups and raw tables agree -----------------------------------------------------------


def test_it_gives_the_raw_figures_from_the_rollups(month_of_visits: World) -> None:
    _refresh_everything()
    for scope in (Scope(None), Scope(state("UP")), Scope(state("MH")), Scope(state("KL"))):
        for start, end in ((FIRST_DAY, LAST_DAY), (FIRST_DAY + timedelta(days=3), LAST_DAY)):
            assert trends(scope, start, end) == raw_trends(scope, start, end, now=NOW)


def test_it_counts_what_happened(month_of_visits: World) -> None:
    _refresh_everything()
    country = trends(Scope(None), FIRST_DAY, LAST_DAY)
    tickets = Ticket.objects.filter(service_date__range=(FIRST_DAY, LAST_DAY))

    assert country.totals["booked"] == tickets.count() == 90
    assert country.totals["completed"] == tickets.filter(status="completed").count()
    assert country.totals["cancelled"] == tickets.filter(status="cancelled").count()
    assert sum(p.booked for p in country.per_day) == 90
    # A corrected prescription keeps its number: one prescription, not two.
    signed = Prescription.objects.exclude(status="draft")
    assert country.prescriptions == signed.filter(version=1).count() < signed.count()
    up = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    mh = trends(Scope(state("MH")), FIRST_DAY, LAST_DAY)
    assert up.totals["booked"] + mh.totals["booked"] == 90
    # An MH resident seen in a UP OPD counts for MH (whose resident she is), not UP.
    up_general = str(month_of_visits.up_general.public_id)
    assert {c.key: c.booked for c in mh.by_opd}[up_general] == 10
    assert {c.key: c.booked for c in up.by_opd}[up_general] == 20
    assert {c.key for c in up.by_sex_age} == {"F:0-4", "M:15-29", "F:30-44", "M:60+"}


def test_a_rebuild_gives_the_rows_refresh_computes(
    month_of_visits: World, rollup_rows: Rows
) -> None:
    """On PostgreSQL the rebuild is set-based SQL: it must agree with the Python slices."""
    _refresh_everything()
    by_slices = rollup_rows()
    assert all(by_slices.values())

    rollups.rebuild(FIRST_DAY - timedelta(days=40), LAST_DAY, now=NOW)

    assert rollup_rows() == by_slices


def test_it_is_idempotent(month_of_visits: World, rollup_rows: Rows) -> None:
    _refresh_everything()
    once = rollup_rows()
    before = trends(Scope(None), FIRST_DAY, LAST_DAY)

    _refresh_everything()
    rollups.refresh_slices(rollups.slices_between(LAST_DAY, LAST_DAY, now=NOW), now=NOW)

    assert rollup_rows() == once
    assert trends(Scope(None), FIRST_DAY, LAST_DAY).totals == before.totals


# --- Days and shifts in Indian time -----------------------------------------------------------


def test_a_booking_late_in_the_evening_counts_for_that_indian_day(world: World) -> None:
    girl, boy = world.patient("girl"), world.patient("young_man")
    evening = ist(date(2026, 3, 5), 23, 50)  # 18:20 UTC
    after_midnight = ist(date(2026, 3, 6), 0, 10)  # 18:40 UTC, still 5 March in UTC
    book(account=girl.account, patient=girl, opd=world.up_general, complaint="Cough", now=evening)
    book(
        account=boy.account,
        patient=boy,
        opd=world.up_general,
        complaint="Fever",
        now=after_midnight,
    )
    rollups.refresh_slices(rollups.slices_between(date(2026, 3, 4), date(2026, 3, 7)))

    week = trends(Scope(state("UP")), date(2026, 3, 4), date(2026, 3, 7))

    assert [p.booked for p in week.per_day] == [0, 1, 1, 0]
    thursday, friday = week.busiest_hours[3], week.busiest_hours[4]
    assert thursday[23] == 1 and friday[0] == 1
    assert sum(map(sum, week.busiest_hours)) == 2


def test_a_night_shift_counts_for_both_days(world: World) -> None:
    DutyShift.objects.create(
        doctor=world.up_doctor,
        opd=world.up_general,
        started_at=ist(date(2026, 3, 5), 22, 0),
        ended_at=ist(date(2026, 3, 6), 1, 30),
    )
    rollups.refresh_slices(rollups.slices_between(date(2026, 3, 5), date(2026, 3, 6)))

    on_duty = dict(DoctorDayStats.objects.values_list("day", "on_duty_seconds"))
    assert on_duty == {date(2026, 3, 5): 2 * 3600, date(2026, 3, 6): 90 * 60}
    use = trends(Scope(state("UP")), date(2026, 3, 5), date(2026, 3, 6)).doctors
    assert [(u.name, u.on_duty_seconds, u.utilisation) for u in use] == [
        ("Dr Asha Verma", 12600, 0.0)
    ]


# --- Keeping up with the queue ------------------------------------------------------------------


def test_catch_up_picks_up_changes_made_after_a_slice_was_rolled_up(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    run = django_capture_on_commit_callbacks
    opd, doctor = world.up_general, world.up_doctor
    seen, leaving = world.patient("girl"), world.patient("young_man")
    with run(execute=True):
        visit = book(account=seen.account, patient=seen, opd=opd, complaint="Rash")
        other = book(account=leaving.account, patient=leaving, opd=opd, complaint="Fever")
    with run(execute=True):
        duty.go_on_duty(doctor, [opd.pk])  # the queue offers the first patient (raw SQL)
    visit.refresh_from_db()
    with run(execute=True):
        visits.accept_offer(doctor, visit)
    with run(execute=True):
        visits.answer_call(seen.account, Ticket.objects.get(pk=visit.pk))
    draft = prescribing.save_draft(
        prescribing.draft_for(consultation_for_doctor(doctor, visit.public_id)),
        data={**CONTENT, "follow_up_on": None},
        medicines=[PARACETAMOL],
    )

    assert rollups.catch_up() > 0  # first run: the last two days
    before = _today(Scope(state("UP")))
    assert (before.totals["booked"], before.totals["completed"], before.prescriptions) == (2, 0, 0)
    assert before.totals["wait_count"] == 1

    with run(execute=True):
        visits.end_consultation(doctor, Ticket.objects.get(pk=visit.pk))
        visits.cancel_ticket(leaving.account, other)
    assert _today(Scope(state("UP"))).totals["completed"] == 0  # not yet refreshed

    rollups.catch_up()
    after = _today(Scope(state("UP")))
    assert (after.totals["completed"], after.totals["cancelled"]) == (1, 1)
    assert after.prescriptions == 0

    with run(execute=False):
        prescribing.finalise(draft, doctor=doctor)  # signed after the visit was rolled up
    rollups.catch_up()
    signed = _today(Scope(state("UP")))
    assert signed.prescriptions == 1
    assert signed.consult_median_seconds is not None
    assert [u.consultations for u in signed.doctors] == [1]


def test_catch_up_finds_a_change_that_committed_after_it_had_read(world: World) -> None:
    # At least two hours into today in IST, so the booking an hour earlier is today's too.
    start_of_day = datetime.combine(timezone.now().astimezone(IST).date(), datetime.min.time(), IST)
    now = max(timezone.now(), start_of_day + timedelta(hours=2))
    ticket = make_ticket(
        world.up_general, world.patient("girl"), booked_at=now - timedelta(hours=1)
    )
    rollups.catch_up(now=now)
    assert _today().totals["cancelled"] == 0

    # Stamped before that run read, committed after it.
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.CANCELLED, status_changed_at=now - timedelta(minutes=2)
    )
    rollups.catch_up(now=now + timedelta(seconds=30))

    assert _today().totals["cancelled"] == 1
    cursor = RollupCursor.objects.get(name=rollups.INCREMENTAL)
    assert cursor.read_up_to == now + timedelta(seconds=30)


def test_changed_slices_are_those_touched_since(month_of_visits: World) -> None:
    since = ist(LAST_DAY, 15, 0)
    w = month_of_visits
    found = rollups.changed_slices(since, now=NOW)

    # Visits of the last day after 15:00, the evening shift of the national OPD ending at 20:00,
    # and the shift still open now.
    assert (w.national_heart.pk, LAST_DAY) in found
    assert (w.up_skin.pk, LAST_DAY) in found
    assert (w.up_skin.pk, NOW.astimezone(IST).date()) in found
    assert all(day >= LAST_DAY for _opd, day in found)
    later = rollups.changed_slices(NOW + timedelta(hours=1), now=NOW)
    assert later == {(w.up_skin.pk, NOW.astimezone(IST).date())}  # only the open shift


def test_reconcile_repairs_a_tampered_or_stray_row(month_of_visits: World) -> None:
    _refresh_everything()
    right = trends(Scope(state("UP")), LAST_DAY, LAST_DAY)
    DayStats.objects.filter(day=LAST_DAY, state=state("UP")).update(booked=999)
    DayStats.objects.create(day=LAST_DAY, opd=month_of_visits.up_general, state=state("KL"))
    DayStats.objects.filter(day=FIRST_DAY, state=state("UP")).update(booked=7)
    assert trends(Scope(state("UP")), LAST_DAY, LAST_DAY) != right

    rollups.reconcile(days=2, now=NOW)

    assert trends(Scope(state("UP")), LAST_DAY, LAST_DAY) == right
    assert not DayStats.objects.filter(state=state("KL")).exists()
    # Older days are left alone: reconciling is about the last two days only.
    assert DayStats.objects.filter(day=FIRST_DAY, state=state("UP"), booked=7).exists()


def test_the_first_catch_up_reconciles_the_last_two_days(month_of_visits: World) -> None:
    assert not DayStats.objects.exists()

    rollups.catch_up(now=NOW)

    assert set(DayStats.objects.values_list("day", flat=True)) == {LAST_DAY}
    assert RollupCursor.objects.get(name=rollups.INCREMENTAL).read_up_to == NOW
