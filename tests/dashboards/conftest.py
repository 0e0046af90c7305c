"""Dashboard test data: a few OPDs in two states and a national one, and a month's visits.

Tickets are written straight to the database with the timestamps a real day would leave (the
queue's own services refuse to book a past day); the late-change tests go through the services.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from consultations.models import Consultation, Prescription
from core.clock import IST
from dashboards.rollups import ROLLUP_MODELS
from notifications.models import Notification
from patients.models import Patient, Sex
from providers.models import Doctor, Speciality
from queues.models import DutyShift, Opd, Ticket
from tests.factories import DoctorFactory, PatientFactory, district, state
from tests.queues.conftest import make_opd

# A fixed "now" after the data's last day, so open shifts and ages never depend on the clock.
NOW = datetime(2026, 3, 12, 6, 30, tzinfo=UTC)  # 12:00 IST
FIRST_DAY = date(2026, 3, 2)  # a Monday
LAST_DAY = date(2026, 3, 11)

_numbers = itertools.count(1)


def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=IST)


def make_ticket(
    opd: Opd,
    patient: Patient,
    *,
    booked_at: datetime,
    status: str = Ticket.Status.WAITING,
    wait: timedelta | None = None,
    consult: timedelta | None = None,
    doctor: Doctor | None = None,
    service_date: date | None = None,
) -> Ticket:
    """A ticket as the queue leaves it: ``wait`` until the consultation started (if it did),
    ``consult`` until it ended."""
    number = next(_numbers)
    started = booked_at + wait if wait is not None else None
    ended = started + consult if started is not None and consult is not None else None
    return Ticket.objects.create(
        opd=opd,
        patient=patient,
        booked_by=patient.account,
        service_date=service_date or booked_at.astimezone(IST).date(),
        number=number,
        complaint="Fever",
        language=patient.preferred_language,
        seq=number,
        status=status,
        booked_at=booked_at,
        status_changed_at=ended or started or booked_at,
        doctor=doctor,
        consult_started_at=started,
        consult_ended_at=ended,
    )


def sign_prescription(ticket: Ticket, *, at: datetime, corrected: bool = False) -> Prescription:
    """A signed (numbered) prescription for a finished visit; ``corrected`` adds a second
    version under the same number, which must not count as a second prescription."""
    assert ticket.doctor is not None
    consultation, _ = Consultation.objects.get_or_create(
        ticket=ticket,
        defaults={
            "patient": ticket.patient,
            "doctor": ticket.doctor,
            "opd": ticket.opd,
            "started_at": ticket.consult_started_at or at,
        },
    )
    number = f"RX{ticket.pk:08d}"
    first = Prescription.objects.create(
        consultation=consultation,
        version=1,
        number=number,
        status=Prescription.Status.SUPERSEDED if corrected else Prescription.Status.FINAL,
        finalised_at=at,
    )
    if not corrected:
        return first
    return Prescription.objects.create(
        consultation=consultation,
        version=2,
        number=number,
        status=Prescription.Status.FINAL,
        supersedes=first,
        finalised_at=at + timedelta(minutes=5),
    )


def notify(prescription: Prescription, status: str, *, at: datetime) -> Notification:
    return Notification.objects.create(
        idempotency_key=f"prescription-ready:{prescription.public_id}:{uuid.uuid4()}",
        channel=Notification.Channel.SMS,
        recipient="+919800000000",
        body="Your prescription is ready",
        topic="prescription-ready",
        about=prescription.public_id,
        status=status,
        created_at=at,
        sent_at=at if status == Notification.Status.SENT else None,
    )


@dataclass
class World:
    """Who and where: OPDs, doctors and patients the tests refer to by name."""

    up_general: Opd
    up_skin: Opd
    mh_general: Opd
    national_heart: Opd
    up_doctor: Doctor
    up_doctor_2: Doctor
    mh_doctor: Doctor
    national_doctor: Doctor  # from MH, serving the national OPD
    patients: dict[str, Patient] = field(default_factory=dict)

    def patient(self, name: str) -> Patient:
        return self.patients[name]


def _patient(state_code: str, district_name: str | None, sex: str, born: date) -> Patient:
    return PatientFactory(
        state=state(state_code),
        district=district(state_code, district_name) if district_name else None,
        sex=sex,
        date_of_birth=born,
    )


@pytest.fixture
def world(db: None) -> World:
    skin = Speciality.objects.get(code="dermatology")
    heart = Speciality.objects.get(code="cardiology")
    w = World(
        up_general=make_opd("DG", state_code="UP"),
        up_skin=make_opd("DS", state_code="UP", speciality=skin),
        mh_general=make_opd("DG", state_code="MH"),
        national_heart=make_opd("DH", state_code=None, speciality=heart),
        up_doctor=DoctorFactory(user__full_name="Dr Asha Verma"),
        up_doctor_2=DoctorFactory(user__full_name="Dr Ravi Shukla"),
        mh_doctor=DoctorFactory(user__full_name="Dr Meera Patil", home_state=state("MH")),
        national_doctor=DoctorFactory(user__full_name="Dr Kiran Rao", home_state=state("MH")),
    )
    w.patients = {
        # UP residents: a girl, a young man, a woman, an old man without a district.
        "girl": _patient("UP", "Lucknow", Sex.FEMALE, date(2022, 6, 1)),
        "young_man": _patient("UP", "Varanasi", Sex.MALE, date(2000, 3, 5)),
        "woman": _patient("UP", "Lucknow", Sex.FEMALE, date(1985, 3, 8)),
        "old_man": _patient("UP", None, Sex.MALE, date(1950, 1, 1)),
        # MH residents.
        "mh_woman": _patient("MH", "Pune", Sex.FEMALE, date(1970, 7, 7)),
        "mh_other": _patient("MH", "Nagpur", Sex.OTHER, date(1995, 12, 31)),
    }
    return w


@pytest.fixture
def month_of_visits(world: World) -> World:
    """Ten days of varied visits in every OPD, with prescriptions, messages and shifts."""
    w = world
    statuses = itertools.cycle(
        [
            Ticket.Status.COMPLETED,
            Ticket.Status.COMPLETED,
            Ticket.Status.CANCELLED,
            Ticket.Status.COMPLETED,
            Ticket.Status.NO_SHOW,
            Ticket.Status.LEFT,
            Ticket.Status.COMPLETED,
        ]
    )
    waits = itertools.cycle([12, 45, 95, 240, 610, 1900, 4000, 9000, 30000, 75])
    consults = itertools.cycle([50, 130, 290, 400, 700, 1500, 4000])
    visits: list[tuple[Opd, str, Doctor]] = [
        (w.up_general, "girl", w.up_doctor),
        (w.up_general, "young_man", w.up_doctor_2),
        (w.up_general, "mh_woman", w.up_doctor),  # an MH resident in a UP OPD
        (w.up_skin, "woman", w.up_doctor_2),
        (w.up_skin, "old_man", w.up_doctor),
        (w.mh_general, "mh_woman", w.mh_doctor),
        (w.mh_general, "mh_other", w.mh_doctor),
        (w.national_heart, "old_man", w.national_doctor),
        (w.national_heart, "mh_other", w.national_doctor),
    ]
    day = FIRST_DAY
    while day <= LAST_DAY:
        for i, (opd, name, doctor) in enumerate(visits):
            status = next(statuses)
            booked_at = ist(day, 8 + (i * 3) % 14, (day.day * 7 + i) % 60)
            started = status in (Ticket.Status.COMPLETED, Ticket.Status.NO_SHOW)
            ticket = make_ticket(
                opd,
                w.patient(name),
                booked_at=booked_at,
                status=status,
                wait=timedelta(seconds=next(waits), microseconds=999_999) if started else None,
                consult=timedelta(seconds=next(consults), microseconds=500_000)
                if status == Ticket.Status.COMPLETED
                else None,
                doctor=doctor if status == Ticket.Status.COMPLETED else None,
            )
            if status == Ticket.Status.COMPLETED and (day.day + i) % 3:
                at = ticket.consult_ended_at or booked_at
                prescription = sign_prescription(ticket, at=at, corrected=(day.day + i) % 5 == 0)
                notify(prescription, Notification.Status.SENT, at=at)
                if i % 2:
                    notify(prescription, Notification.Status.FAILED, at=at)
        for doctor, opd in [
            (w.up_doctor, w.up_general),
            (w.up_doctor, w.up_skin),
            (w.up_doctor_2, w.up_general),
            (w.mh_doctor, w.mh_general),
            (w.national_doctor, w.national_heart),
        ]:
            DutyShift.objects.create(
                doctor=doctor,
                opd=opd,
                started_at=ist(day, 8, 0) + timedelta(microseconds=250_000),
                ended_at=ist(
                    day,
                    14,
                    30,
                )
                if opd != w.national_heart
                else ist(day, 20, 0),
            )
        day += timedelta(days=1)
    # A night shift across IST midnight, and one still open "now".
    DutyShift.objects.create(
        doctor=w.mh_doctor,
        opd=w.mh_general,
        started_at=ist(LAST_DAY - timedelta(days=1), 22, 0),
        ended_at=ist(LAST_DAY, 2, 0),
    )
    DutyShift.objects.create(doctor=w.up_doctor_2, opd=w.up_skin, started_at=ist(LAST_DAY, 21))
    return w


@pytest.fixture
def rollup_rows() -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    """Every rollup row as plain tuples (no ids), to compare two ways of computing them."""

    def read() -> dict[str, list[tuple[Any, ...]]]:
        rows = {}
        for model in ROLLUP_MODELS:
            names = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
            rows[model.__name__] = sorted(tuple(row) for row in model.objects.values_list(*names))
        return rows

    return read
