"""Bench data: patients and tickets by COPY (fast), OPDs and doctors through the ORM (few).

Every waiting ticket needs its own patient (``one_active_ticket_per_patient_per_opd``), and
every patient a patient account, so accounts, patients and tickets are all copied in.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, time

import psycopg
from django.utils import timezone

from accounts.models import Role, User
from core.clock import india_today
from core.models import Language, State
from providers.models import Doctor, Facility, MedicalCouncil
from queues.models import DoctorPresence, DutyShift, Opd, OpdHours
from queues.services.booking import queue_seq

logger = logging.getLogger("bench")

ALL_DAY = (time(0, 0), time.max)
PRIORITY_EVERY = 10  # one ticket in ten is in the priority class (a senior)


@dataclass(frozen=True)
class Patients:
    first_account_id: int
    first_patient_id: int
    count: int

    def account_id(self, index: int) -> int:
        return self.first_account_id + index

    def patient_id(self, index: int) -> int:
        return self.first_patient_id + index


def _next_id(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def _sync_identity(conn: psycopg.Connection, table: str) -> None:
    conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
    )


def copy_patients(dsn: str, count: int) -> Patients:
    """``count`` patient accounts, each holding one patient (the account holder)."""
    now = timezone.now()
    state_id = State.objects.get(code="UP").pk
    hindi = Language.objects.get(code="hi").pk
    with psycopg.connect(dsn) as conn:
        first_account = _next_id(conn, "accounts_user")
        first_patient = _next_id(conn, "patients_patient")
        with conn.cursor().copy(
            "COPY accounts_user (id, password, is_superuser, public_id, username, mobile, role,"
            " full_name, email, preferred_language, is_active, is_staff, date_joined)"
            " FROM STDIN"
        ) as copy:
            for i in range(count):
                mobile = f"+9170{i:08d}"
                copy.write_row(
                    (
                        first_account + i,
                        "!" + uuid.uuid4().hex,  # unusable: patients sign in by OTP
                        False,
                        uuid.uuid4(),
                        mobile,
                        mobile,
                        Role.PATIENT.value,
                        "",
                        "",
                        "hi",
                        True,
                        False,
                        now,
                    )
                )
        with conn.cursor().copy(
            "COPY patients_patient (id, public_id, patient_number, relationship, name, sex,"
            " date_of_birth, dob_is_estimated, abha_number, abha_address, created_at,"
            " updated_at, account_id, preferred_language_id, state_id) FROM STDIN"
        ) as copy:
            for i in range(count):
                senior = i % PRIORITY_EVERY == 0
                copy.write_row(
                    (
                        first_patient + i,
                        uuid.uuid4(),
                        f"9{i:011d}",
                        "self",
                        f"Bench Patient {i}",
                        "F",
                        date(1950, 1, 1) if senior else date(1990, 5, 17),
                        False,
                        "",
                        "",
                        now,
                        now,
                        first_account + i,
                        hindi,
                        state_id,
                    )
                )
        _sync_identity(conn, "accounts_user")
        _sync_identity(conn, "patients_patient")
    return Patients(first_account, first_patient, count)


def make_opd(code: str) -> Opd:
    opd = Opd.objects.create(
        code=code,
        name=f"Bench {code} OPD",
        state=State.objects.get(code="UP"),
        daily_token_limit=1_000_000,
        waiting_room_size=1_000_000,
    )
    OpdHours.objects.bulk_create(
        [OpdHours(opd=opd, weekday=d, opens_at=ALL_DAY[0], closes_at=ALL_DAY[1]) for d in range(7)]
    )
    return opd


def copy_waiting_tickets(dsn: str, opd: Opd, patients: Patients, count: int) -> None:
    """``count`` waiting tickets in ``opd``, token numbers 1…count, for patients 0…count-1."""
    if count > patients.count:
        raise ValueError("one active ticket per patient per OPD: need more patients")
    today = india_today()
    now = timezone.now()
    hindi = Language.objects.get(code="hi").pk
    with psycopg.connect(dsn) as conn:
        first = _next_id(conn, "queues_ticket")
        with conn.cursor().copy(
            "COPY queues_ticket (id, public_id, service_date, number, complaint, priority,"
            " priority_reason, seq, status, booked_at, status_changed_at, missed_calls,"
            " skipped_by, position_sms_sent, booked_by_id, language_id, opd_id, patient_id)"
            " FROM STDIN"
        ) as copy:
            for i in range(count):
                number = i + 1
                senior = i % PRIORITY_EVERY == 0
                copy.write_row(
                    (
                        first + i,
                        uuid.uuid4(),
                        today,
                        number,
                        "Fever for three days",
                        1 if senior else 0,
                        "senior" if senior else "",
                        queue_seq(today, number),
                        "waiting",
                        now,
                        now,
                        0,
                        "[]",
                        False,
                        patients.account_id(i),
                        hindi,
                        opd.pk,
                        patients.patient_id(i),
                    )
                )
        _sync_identity(conn, "queues_ticket")
    logger.info("copied %s waiting tickets into OPD %s", count, opd.code)


def make_doctors(count: int, *, on_duty: list[Opd]) -> list[int]:
    """Doctors speaking Hindi and English, console fresh, on duty for ``on_duty``."""
    state = State.objects.get(code="UP")
    languages = list(Language.objects.filter(code__in=["hi", "en"]))
    now = timezone.now()
    start = Doctor.objects.count()
    ids = []
    for n in range(start, start + count):
        user = User.objects.create(username=f"benchdoc{n}", role=Role.DOCTOR, full_name=f"Dr {n}")
        user.set_unusable_password()
        user.save(update_fields=["password"])
        facility = Facility.objects.create(
            name=f"Bench CHC {n}", state=state, hfr_id=f"IN09{n:08d}"
        )
        doctor = Doctor.objects.create(
            user=user,
            qualification="MBBS",
            medical_council=MedicalCouncil.UP,
            registration_number=f"BENCH-{n:05d}",
            home_state=state,
            facility=facility,
        )
        doctor.languages.set(languages)
        DoctorPresence.objects.create(doctor=doctor, console_seen_at=now)
        # Directly, not duty.go_on_duty(): that would dispatch patients before the clock starts.
        DutyShift.objects.bulk_create([DutyShift(doctor=doctor, opd=opd) for opd in on_duty])
        ids.append(doctor.pk)
    return ids


def vacuum_tickets(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) queues_ticket")
        conn.execute("VACUUM (ANALYZE) queues_ticketevent")
        conn.execute("ANALYZE")
