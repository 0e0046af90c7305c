"""A year of teleconsultations in every state, for the dashboard bench.

OPDs and doctors (a few hundred and a few thousand rows) go through the ORM; patients, tickets
and shifts are copied in (``bench.history_patients``, ``bench.history_tickets``);
consultations, prescriptions, their SMS notifications and the prescription counters are derived
from the tickets by set-based SQL in the database. Indexes and foreign keys are off during the
load and rebuilt (and checked) after it (``bench.bulk_load``).

Left out, because no dashboard figure reads them: ticket events (the audit trail), medicine
lines, attachments and consultation documents.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import psycopg
from django.contrib.auth.hashers import make_password
from django.db.models import Max, Min

from accounts.models import Role, User
from bench.bulk_load import indexes_deferred
from bench.history_data import (
    COMPLAINTS,
    CONSULTATIONS_PER_DOCTOR_DAY,
    DIAGNOSES,
    NATIONAL_OPDS,
    NATIONAL_SHARE,
    STATE_OPDS,
    STATE_WEIGHT,
    day_weight,
)
from bench.history_patients import StateInfo, copy_patients
from bench.history_tickets import Cell, OpdPlan, TicketWriter, copy_tickets, share_out
from bench.seed import _next_id, _sync_identity
from core.models import District, Language, State
from providers.models import Doctor, Facility, MedicalCouncil, Speciality
from queues.models import Opd, OpdHours, Ticket

logger = logging.getLogger("bench")

LOADED_TABLES = [
    "accounts_user",
    "patients_patient",
    "queues_ticket",
    "queues_dutyshift",
    "queues_opdday",
    "consultations_consultation",
    "consultations_prescription",
    "notifications_notification",
]
SMS_FAILED_SHARE = 0.02


@dataclass(frozen=True)
class HistorySpec:
    consultations: int  # completed visits, each with a Consultation row
    days: int
    last_day: date  # IST
    patients: int
    prescription_share: float  # of consultations, with a final prescription (and its SMS)
    seed: int

    @property
    def first_day(self) -> date:
        return self.last_day - timedelta(days=self.days - 1)


def _states() -> list[StateInfo]:
    districts: dict[int, list[int]] = {}
    for pk, state_id in District.objects.values_list("pk", "state_id"):
        districts.setdefault(state_id, []).append(pk)
    return [
        StateInfo(state.pk, state.code, STATE_WEIGHT[state.code], districts.get(state.pk, []))
        for state in State.objects.order_by("pk")
    ]


def _opd(state: State | None, code: str, name: str, speciality: str | None) -> Opd:
    opd, created = Opd.objects.get_or_create(
        state=state,
        code=code,
        defaults={
            "name": name,
            "speciality": Speciality.objects.get(code=speciality) if speciality else None,
            "daily_token_limit": 100_000,
        },
    )
    if created:
        OpdHours.objects.bulk_create(
            [
                OpdHours(opd=opd, weekday=d, opens_at=clock_time(9), closes_at=clock_time(17))
                for d in range(6)
            ]
        )
    return opd


def _opd_plans(states: list[StateInfo]) -> list[OpdPlan]:
    """The migrations' OPDs and the bench's speciality OPDs, with their share of bookings."""
    total = sum(s.weight for s in states)
    plans = []
    for info in states:
        state = State.objects.get(pk=info.id)
        for code, suffix, speciality, who, share in STATE_OPDS:
            opd = _opd(state, code, f"{state.name} {suffix}", speciality)
            weight = (1 - NATIONAL_SHARE) * info.weight / total * share
            plans.append(OpdPlan(opd.pk, info.id, who, weight, COMPLAINTS[who]))
    for code, name, speciality, who, share in NATIONAL_OPDS:
        opd = _opd(None, code, name, speciality)
        plans.append(OpdPlan(opd.pk, None, who, NATIONAL_SHARE * share, COMPLAINTS[who]))
    return plans


def _doctors(
    opds: list[OpdPlan], cells: list[Cell], states: list[StateInfo], rng: random.Random
) -> dict[int, list[int]]:
    """Enough doctors for each OPD's busiest day, with some off each day: OPD id -> doctors."""
    busiest: dict[int, int] = {}
    for cell in cells:
        busiest[cell.opd] = max(busiest.get(cell.opd, 0), cell.completed)
    councils = set(MedicalCouncil.values)
    by_id = {s.id: s for s in states}
    weights = [s.weight for s in states]
    start = Doctor.objects.count()
    facilities = {
        s.id: Facility.objects.create(
            name=f"Bench Telemedicine Hub {s.code}",
            state_id=s.id,
            hfr_id=f"IN{s.id:02d}9{start:07d}",
        )
        for s in states
    }
    plans: list[tuple[int, int]] = []  # (OPD id, home state id)
    for index, opd in enumerate(opds):
        size = math.ceil(busiest.get(index, 0) / CONSULTATIONS_PER_DOCTOR_DAY * 1.4) + 1
        for _ in range(size):
            home = opd.state_id if opd.state_id else rng.choices(states, weights)[0].id
            plans.append((opd.id, home))
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                username=f"bench.dr{start + n}",
                role=Role.DOCTOR,
                full_name=f"Dr Bench {start + n}",
                password=password,
            )
            for n in range(len(plans))
        ],
        batch_size=2000,
    )
    doctors = Doctor.objects.bulk_create(
        [
            Doctor(
                user=user,
                qualification="MBBS",
                medical_council=code if (code := by_id[home].code) in councils else "OTHER",
                registration_number=f"BENCH-{start + n:06d}",
                home_state_id=home,
                facility=facilities[home],
            )
            for n, (user, (_opd_id, home)) in enumerate(zip(users, plans, strict=True))
        ],
        batch_size=2000,
    )
    languages = dict(Language.objects.values_list("code", "pk"))
    Doctor.languages.through.objects.bulk_create(
        [
            Doctor.languages.through(doctor_id=doctor.pk, language_id=languages[code])
            for doctor in doctors
            for code in ("hi", "en")
        ],
        batch_size=5000,
    )
    rosters: dict[int, list[int]] = {}
    for doctor, (opd_id, _home) in zip(doctors, plans, strict=True):
        rosters.setdefault(opd_id, []).append(doctor.pk)
    logger.info("created %s doctors", len(doctors))
    return rosters


PRESCRIPTIONS = """
INSERT INTO consultations_consultation (id, public_id, ticket_id, patient_id, doctor_id, opd_id,
    started_at)
SELECT id, gen_random_uuid(), id, patient_id, doctor_id, opd_id, consult_started_at
FROM queues_ticket WHERE status = 'completed' AND id >= %(first)s;

INSERT INTO consultations_prescription (id, public_id, consultation_id, version, number, status,
    chief_complaints, history, vitals, examination, diagnosis, icd10_code, investigations, advice,
    referral, created_at, updated_at, finalised_at, verification_code, pdf, pdf_sha256)
SELECT id, gen_random_uuid(), id, 1,
    'RX' || year || '-' || lpad(n::text, greatest(7, length(n::text)), '0'), 'final',
    complaint, '', '{}', '', (%(diagnoses)s::text[])[1 + id %% %(kinds)s],
    (%(codes)s::text[])[1 + id %% %(kinds)s], '',
    'Plenty of fluids and rest. Come back if not better in three days.', '',
    consult_started_at + interval '1 minute', consult_ended_at, consult_ended_at,
    replace(gen_random_uuid()::text, '-', ''), '', ''
FROM (
    SELECT *, row_number() OVER (PARTITION BY year ORDER BY id) + coalesce(
        (SELECT last FROM consultations_prescriptioncounter c WHERE c.year = y.year), 0) AS n
    FROM (
        SELECT id, complaint, consult_started_at, consult_ended_at,
            extract(year FROM consult_ended_at AT TIME ZONE 'Asia/Kolkata')::int AS year
        FROM queues_ticket
        WHERE status = 'completed' AND id >= %(first)s AND random() < %(share)s
    ) y
) numbered;

INSERT INTO consultations_prescriptioncounter (year, last)
SELECT extract(year FROM finalised_at AT TIME ZONE 'Asia/Kolkata')::int, count(*)
FROM consultations_prescription WHERE id >= %(first)s GROUP BY 1
ON CONFLICT (year) DO UPDATE SET last = consultations_prescriptioncounter.last + excluded.last;

INSERT INTO notifications_notification (public_id, idempotency_key, channel, recipient, subject,
    body, topic, about, status, attempts, next_attempt_at, sent_at, last_error, created_at)
SELECT gen_random_uuid(), 'prescription-ready:' || public_id || ':sms', 'sms', recipient, '',
    'eSanjeevani: your e-prescription ' || number || ' is ready. Download: '
        || 'https://esanjeevani.example/rx/ (sign in needed)',
    'prescription-ready', public_id, CASE WHEN failed THEN 'failed' ELSE 'sent' END,
    CASE WHEN failed THEN 10 ELSE 1 END, created_at,
    CASE WHEN failed THEN NULL ELSE created_at + interval '4 seconds' END,
    CASE WHEN failed THEN 'gateway rejected the number' ELSE '' END, created_at
FROM (
    SELECT p.public_id, p.number, p.finalised_at + interval '3 seconds' AS created_at,
        '+917' || lpad(t.booked_by_id::text, 9, '0') AS recipient,
        random() < %(failed)s AS failed
    FROM consultations_prescription p JOIN queues_ticket t ON t.id = p.consultation_id
    WHERE p.id >= %(first)s
) sms;
"""


def _derive(conn: psycopg.Connection, first_ticket: int, share: float) -> None:
    for statement in PRESCRIPTIONS.split(";\n\n"):
        began = time.monotonic()
        conn.execute(
            statement,
            {
                "first": first_ticket,
                "share": share,
                "failed": SMS_FAILED_SHARE,
                "diagnoses": [d for d, _code in DIAGNOSES],
                "codes": [code for _d, code in DIAGNOSES],
                "kinds": len(DIAGNOSES),
            },
        )
        logger.info("  %s: %.1f s", statement.split()[2], time.monotonic() - began)
    _sync_identity(conn, "consultations_consultation")
    _sync_identity(conn, "consultations_prescription")


def generate(dsn: str, spec: HistorySpec) -> dict[str, Any]:
    """Write the history; returns counts and timings for the bench's report."""
    rng = random.Random(spec.seed)
    timings: dict[str, Any] = {}
    began = time.monotonic()
    states = _states()
    opds = _opd_plans(states)
    day_weights = [
        day_weight(spec.first_day + timedelta(days=i), i, spec.days) for i in range(spec.days)
    ]
    cells = share_out(spec.consultations, day_weights, opds, rng)
    rosters = _doctors(opds, cells, states, rng)
    languages = dict(Language.objects.values_list("code", "pk"))
    created = datetime.combine(spec.first_day - timedelta(days=30), clock_time(6), tzinfo=UTC)
    with psycopg.connect(dsn, autocommit=True) as conn:
        first_ticket = _next_id(conn, "queues_ticket")
        with indexes_deferred(conn, LOADED_TABLES) as rebuilt:
            patients = copy_patients(
                dsn,
                states,
                languages,
                spec.patients,
                as_of=spec.last_day,
                created=created,
                rng=rng,
            )
            timings["patients_s"] = round(time.monotonic() - began, 1)
            writer = TicketWriter(
                patients=patients,
                opds=opds,
                national_states=[(s.id, s.weight) for s in states],
                rosters=rosters,
                rng=rng,
                first_ticket_id=first_ticket,
            )
            statuses = copy_tickets(dsn, writer, cells, spec.first_day)
            timings["tickets_s"] = round(time.monotonic() - began - timings["patients_s"], 1)
            derived = time.monotonic()
            _derive(conn, first_ticket, spec.prescription_share)
            timings["derived_s"] = round(time.monotonic() - derived, 1)
        timings.update(rebuilt)
        vacuumed = time.monotonic()
        for table in LOADED_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
        conn.execute("ANALYZE")
        timings["vacuum_s"] = round(time.monotonic() - vacuumed, 1)
    timings["generation_s"] = round(time.monotonic() - began, 1)
    return {
        "patients": patients.count,
        "doctors": sum(len(r) for r in rosters.values()),
        "opds": len(opds),
        "statuses": statuses,
        **timings,
    }


def history_bounds() -> tuple[date, date] | None:
    """First and last service day of the tickets in the database (for ``--reuse``)."""
    bounds = Ticket.objects.aggregate(first=Min("service_date"), last=Max("service_date"))
    if bounds["first"] is None:
        return None
    return bounds["first"], bounds["last"]
