from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from accounts.models import Role, User
from core.errors import NotFound
from core.models import State
from dashboards import rollups
from dashboards.live import live_now
from dashboards.queries import states_overview, trends
from dashboards.selectors import Scope, scope_for
from patients.models import Patient
from queues.models import DutyShift, Ticket
from tests.dashboards.conftest import FIRST_DAY, LAST_DAY, NOW, World, make_ticket
from tests.factories import DoctorFactory, StaffFactory, state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Labels are checked in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


@pytest.fixture
def rolled_up(month_of_visits: World) -> World:
    rollups.refresh_slices(rollups.slices_between(FIRST_DAY, LAST_DAY, now=NOW), now=NOW)
    return month_of_visits


# --- Who may see which dashboard ----------------------------------------------------------------


def test_it_refuses_patients_and_doctors(family: Patient, doctor_user: User) -> None:
    for user in (family.account, doctor_user):
        for code in (None, "UP"):
            with pytest.raises(PermissionDenied):
                scope_for(user, code)


def test_it_refuses_anyone_signed_out() -> None:
    with pytest.raises(PermissionDenied):
        scope_for(AnonymousUser())


def test_it_gives_a_state_administrator_their_state_only(up_admin: User) -> None:
    assert scope_for(up_admin).state == state("UP")
    assert scope_for(up_admin, "up").state == state("UP")
    for other in ("MH", "XX"):
        with pytest.raises(PermissionDenied):
            scope_for(up_admin, other)


def test_it_gives_the_national_administrator_the_country_or_any_state() -> None:
    national = StaffFactory(role=Role.NATIONAL_ADMIN)

    assert scope_for(national).is_national
    assert scope_for(national, "MH").state == state("MH")
    with pytest.raises(NotFound):
        scope_for(national, "XX")


# --- Trends -------------------------------------------------------------------------------------


def test_a_state_sees_its_residents_only(rolled_up: World) -> None:
    up = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    country = trends(Scope(None), FIRST_DAY, LAST_DAY)

    up_patients = Ticket.objects.filter(patient__state=state("UP"))
    assert up.totals["booked"] == up_patients.count() == 50
    assert country.totals["booked"] == 90
    assert {c.label for c in up.by_district} == {"Lucknow", "Varanasi"}  # not Pune or Nagpur
    assert {d.name for d in up.doctors} == {"Dr Asha Verma", "Dr Ravi Shukla"}
    # The national OPD's doctor is from MH: MH sees his work, wherever his patients live.
    mh = trends(Scope(state("MH")), FIRST_DAY, LAST_DAY)
    assert "Dr Kiran Rao" in {d.name for d in mh.doctors}


def test_it_labels_rows_for_people_and_keys_them_for_machines(rolled_up: World) -> None:
    w = rolled_up
    up = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)

    assert {(c.key, c.label) for c in up.by_speciality} == {
        ("general", "General"),
        ("dermatology", "Dermatology"),
        ("cardiology", "Cardiology"),
    }
    assert {c.key for c in up.by_opd} == {
        str(o.public_id) for o in (w.up_general, w.up_skin, w.national_heart)
    }
    assert {d.doctor_key for d in up.doctors} == {
        str(w.up_doctor.public_id),
        str(w.up_doctor_2.public_id),
    }
    assert ("M:60+", "Male, 60+") in {(c.key, c.label) for c in up.by_sex_age}
    assert [c.key for c in up.by_sex_age] == ["F:0-4", "F:30-44", "M:15-29", "M:60+"]
    with translation.override("hi"):
        hindi = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    assert "लखनऊ" in {c.label for c in hindi.by_district}


def test_every_day_of_the_range_has_a_point(rolled_up: World) -> None:
    start, end = FIRST_DAY - timedelta(days=2), LAST_DAY + timedelta(days=1)
    up = trends(Scope(state("UP")), start, end)

    assert [p.day for p in up.per_day] == [
        start + timedelta(days=n) for n in range((end - start).days + 1)
    ]
    assert up.per_day[0].booked == up.per_day[-1].booked == 0
    assert all(p.booked == 5 for p in up.per_day[2:-1])


def test_rates_and_waits_come_from_the_visits(rolled_up: World) -> None:
    up = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    up_tickets = Ticket.objects.filter(patient__state=state("UP"))

    assert up.no_show_rate == up_tickets.filter(status="no_show").count() / 50
    assert up.cancellation_rate == up_tickets.filter(status="cancelled").count() / 50
    assert up.wait_median_seconds is not None and up.wait_p90_seconds is not None
    assert 0 < up.wait_median_seconds < up.wait_p90_seconds
    empty = trends(Scope(state("KL")), FIRST_DAY, LAST_DAY)
    assert (empty.wait_median_seconds, empty.no_show_rate, empty.doctors) == (None, None, [])


# --- The national view --------------------------------------------------------------------------


def test_the_overview_lists_every_state_and_ut(rolled_up: World) -> None:
    rows = states_overview(FIRST_DAY, LAST_DAY)

    assert len(rows) == 36 == State.objects.count()
    by_code = {row.code: row for row in rows}
    up = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    assert by_code["UP"].booked == up.totals["booked"]
    assert by_code["UP"].prescriptions == up.prescriptions
    assert by_code["UP"].wait_median_seconds == up.wait_median_seconds
    assert (by_code["KL"].booked, by_code["KL"].wait_median_seconds) == (0, None)
    assert sum(row.booked for row in rows) == 90


# --- Right now ----------------------------------------------------------------------------------


def test_live_counts_waiting_patients_doctors_and_consultations(world: World) -> None:
    w = world
    now = timezone.now()
    make_ticket(w.up_general, w.patient("girl"), booked_at=now - timedelta(minutes=40))
    make_ticket(w.up_general, w.patient("woman"), booked_at=now - timedelta(minutes=5))
    make_ticket(
        w.up_general,
        w.patient("young_man"),
        booked_at=now - timedelta(minutes=50),
        status=Ticket.Status.IN_CONSULTATION,
        wait=timedelta(minutes=45),
        doctor=w.up_doctor,
    )
    make_ticket(  # finished: not live
        w.up_skin,
        w.patient("old_man"),
        booked_at=now - timedelta(hours=2),
        status=Ticket.Status.COMPLETED,
        wait=timedelta(minutes=5),
        consult=timedelta(minutes=5),
        doctor=w.up_doctor_2,
    )
    for doctor in (w.up_doctor, w.up_doctor_2):
        DutyShift.objects.create(
            doctor=doctor, opd=w.up_general, started_at=now - timedelta(hours=1)
        )
    DutyShift.objects.create(
        doctor=w.up_doctor_2,
        opd=w.up_skin,
        started_at=now - timedelta(hours=3),
        ended_at=now - timedelta(hours=1),
    )

    live = live_now(Scope(state("UP")), now=now)

    opds = {o.opd_key: o for o in live.opds}
    general, skin = opds[str(w.up_general.public_id)], opds[str(w.up_skin.public_id)]
    assert (general.waiting, general.in_consultation, general.doctors_on_duty) == (2, 1, 2)
    assert general.longest_wait_seconds == 40 * 60
    assert (skin.waiting, skin.in_consultation, skin.doctors_on_duty) == (0, 0, 0)
    assert skin.longest_wait_seconds is None
    assert (live.waiting, live.in_consultation, live.doctors_on_duty) == (2, 1, 2)
    assert live.longest_wait_seconds == 40 * 60
    assert str(w.mh_general.public_id) not in opds


def test_a_state_sees_its_residents_waiting_in_a_national_opd(world: World) -> None:
    w = world
    now = timezone.now()
    make_ticket(w.national_heart, w.patient("mh_woman"), booked_at=now - timedelta(minutes=20))
    DutyShift.objects.create(doctor=DoctorFactory(), opd=w.national_heart, started_at=now)

    mh = {o.opd_key: o for o in live_now(Scope(state("MH")), now=now).opds}
    up = {o.opd_key: o for o in live_now(Scope(state("UP")), now=now).opds}
    country = {o.opd_key: o for o in live_now(Scope(None), now=now).opds}

    heart = str(w.national_heart.public_id)
    assert (mh[heart].waiting, mh[heart].doctors_on_duty) == (1, 1)
    assert heart not in up
    assert country[heart].waiting == 1
    assert str(w.up_general.public_id) in up and str(w.up_general.public_id) in country
