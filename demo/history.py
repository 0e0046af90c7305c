"""Plausible past weeks for the demo (``manage.py seed_history``), so the state and national
dashboards have something to show on a fresh ``make run``.

Finished visits only (completed, cancelled, no-show, left), in a few states' general OPDs and
two national OPDs, with their events, consultations, signed prescriptions, SMS notifications
and the doctors' duty shifts, written through the ORM's ``bulk_create`` so that it runs on
SQLite as on PostgreSQL. Everyone in it is made up: patients with Faker's Indian names on
accounts whose mobile numbers start with ``DEMO_MOBILE_PREFIX``, doctors named ``demo.dr.*``
at facilities marked "(demo)".
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth.hashers import make_password

from accounts.models import Role, User
from consultations.models import Consultation
from core.clock import IST
from core.models import District, Language, State
from demo.prescriptions import write_prescriptions
from patients.identifiers import new_patient_number
from patients.models import Patient
from providers.models import Doctor, Facility, MedicalCouncil
from queues.models import DutyShift, Opd, OpdDay, Ticket, TicketEvent
from queues.services.booking import queue_seq

# State code -> size of its demo traffic, relative to --per-day (the demo state, UP, is 1).
DEMO_STATES = {"UP": 1.0, "BR": 0.55, "MH": 0.45, "WB": 0.4, "TN": 0.3}
# National OPD -> share of each demo state's bookings that go there.
NATIONAL_OPDS = {"PED": 0.10, "OBG": 0.08}
STATE_LANGUAGE = {"UP": "hi", "BR": "hi", "MH": "mr", "WB": "bn", "TN": "ta"}
DEMO_MOBILE_PREFIX = "+91900"
DEMO_DOCTORS = ("dr.asha", "dr.imran")  # from seed_demo, on duty in UP's general OPD

HOUR_WEIGHTS = (0.14, 0.18, 0.17, 0.14, 0.10, 0.11, 0.09, 0.07)  # 09:00 to 17:00 IST
CONSULTATIONS_PER_DOCTOR_DAY = 25
WEEKDAY_WEIGHTS = (1.25, 1.10, 1.05, 1.00, 0.95, 0.75, 0.0)  # closed on Sundays
OUTCOMES = (("completed", 0.85), ("cancelled", 0.06), ("no_show", 0.05), ("left", 0.04))
COMPLAINTS = (
    "Fever for three days",
    "Cough and cold",
    "Headache since morning",
    "Stomach pain",
    "Follow-up for blood pressure",
    "Follow-up for diabetes",
    "Joint pain in knees",
    "Skin rash and itching",
)


def seconds_of(median: float, sigma: float, low: int, high: int, rng: random.Random) -> int:
    """A log-normal duration around ``median`` seconds, kept within [low, high]."""
    return min(high, max(low, int(median * math.exp(rng.gauss(0.0, sigma)))))


def at(day: date, seconds: int) -> datetime:
    """``seconds`` after midnight IST on ``day``."""
    return datetime.combine(day, time.min, tzinfo=IST) + timedelta(seconds=seconds)


@dataclass
class OpdPlan:
    opd: Opd
    state: State | None
    share: float  # of --per-day
    doctors: list[Doctor]
    patients: list[Patient] = field(default_factory=list)


@dataclass
class Written:
    tickets: list[Ticket] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)
    shifts: list[DutyShift] = field(default_factory=list)
    counters: list[OpdDay] = field(default_factory=list)


class DemoHistory:
    """Writes ``first`` to ``last`` (IST days, inclusive) of history; call ``write()``."""

    def __init__(self, first: date, last: date, *, per_day: int, seed: int) -> None:
        from faker import Faker  # noqa: PLC0415 - a dev dependency; make run installs it

        self.first, self.last, self.per_day = first, last, per_day
        self.rng = random.Random(seed)  # noqa: S311 - made-up data, repeatable by seed
        self.faker = Faker("en_IN")
        self.faker.seed_instance(seed)
        self.languages = {lang.code: lang for lang in Language.objects.all()}

    # --- People -------------------------------------------------------------------------------

    def _facility(self, state: State) -> Facility:
        facility, _ = Facility.objects.get_or_create(
            hfr_id=f"IN{state.lgd_code:02d}99000001",
            defaults={"name": f"Telemedicine Hub, {state.name} (demo)", "state": state},
        )
        return facility

    def _doctor(self, username: str, state: State) -> Doctor:
        existing = Doctor.objects.filter(user__username=username).first()
        if existing is not None:
            return existing
        user = User.objects.create_staff(
            username, None, role=Role.DOCTOR, full_name=f"Dr {self.faker.name()}"
        )
        council = state.code if state.code in MedicalCouncil.values else MedicalCouncil.OTHER
        doctor = Doctor.objects.create(
            user=user,
            qualification="MBBS",
            medical_council=council,
            registration_number=f"DEMO-{username.rsplit('.', 1)[-1].upper()}",
            home_state=state,
            facility=self._facility(state),
        )
        doctor.languages.set([self.languages["hi"], self.languages["en"]])
        return doctor

    def _patients(self, state: State, count: int, first_mobile: int) -> list[Patient]:
        """``count`` account holders (and some of their families) in ``state``."""
        rng, faker = self.rng, self.faker
        districts = list(District.objects.filter(state=state))
        language = self.languages.get(STATE_LANGUAGE.get(state.code, "hi"), self.languages["hi"])
        unusable = make_password(None)
        accounts = User.objects.bulk_create(
            [
                User(
                    username=mobile,
                    mobile=mobile,
                    role=Role.PATIENT,
                    password=unusable,
                    preferred_language=language.code,
                )
                for n in range(count)
                for mobile in [f"{DEMO_MOBILE_PREFIX}{first_mobile + n:07d}"]
            ]
        )
        patients = []
        for account in accounts:
            district = rng.choice(districts) if districts else None
            members = [("self", rng.randint(18, 75))]
            if rng.random() < 0.5:
                members.append(("child", rng.randint(0, 14)))
            for relationship, age in members:
                sex = "F" if rng.random() < 0.55 else "M"
                first = faker.first_name_female() if sex == "F" else faker.first_name_male()
                born = self.last - timedelta(days=int(age * 365.25) + rng.randint(0, 364))
                patients.append(
                    Patient(
                        account=account,
                        patient_number=new_patient_number(),
                        relationship=relationship,
                        name=f"{first} {faker.last_name()}",
                        sex=sex,
                        date_of_birth=born,
                        state=state,
                        district=district,
                        preferred_language=language,
                    )
                )
        return Patient.objects.bulk_create(patients)

    def _plans(self) -> list[OpdPlan]:
        states = {s.code: s for s in State.objects.filter(code__in=DEMO_STATES)}
        plans: list[OpdPlan] = []
        first_mobile = User.objects.filter(mobile__startswith=DEMO_MOBILE_PREFIX).count()
        for code, size in DEMO_STATES.items():
            state = states[code]
            gm = Opd.objects.filter(state=state, code="GM").first()
            if gm is None:
                continue
            doctors = [self._doctor(f"demo.dr.{code.lower()}{n}", state) for n in (1, 2)]
            if code == "UP":
                doctors += list(Doctor.objects.filter(user__username__in=DEMO_DOCTORS))
            count = max(20, round(self.per_day * size * 2))
            plan = OpdPlan(gm, state, size, doctors, self._patients(state, count, first_mobile))
            first_mobile += count
            plans.append(plan)
        residents = [p for plan in plans for p in plan.patients]
        who = {
            "PED": [p for p in residents if p.relationship == "child"],
            "OBG": [p for p in residents if p.sex == "F" and p.relationship == "self"],
        }
        total = sum(plan.share for plan in plans)
        for code, share in NATIONAL_OPDS.items():
            opd = Opd.objects.filter(state=None, code=code).first()
            patients = who.get(code) or residents
            if opd is not None and patients:
                doctors = [self._doctor(f"demo.dr.{code.lower()}1", states["MH"])]
                plans.append(OpdPlan(opd, None, share * total, doctors, patients))
        return plans

    # --- Visits -------------------------------------------------------------------------------

    def _visit(
        self,
        plan: OpdPlan,
        day: date,
        number: int,
        booked: int,
        *,
        roster: list[Doctor],
        written: Written,
    ) -> tuple[Doctor, int, int] | None:
        """One ticket and its events; a completed one is seen by a doctor of ``roster``, and
        its doctor and consultation (seconds after midnight IST) are returned."""
        rng = self.rng
        patient = rng.choice(plan.patients)
        status = rng.choices([s for s, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        senior = patient.age_on(day) >= 60
        ticket = Ticket(
            opd=plan.opd,
            patient=patient,
            booked_by=patient.account,
            service_date=day,
            number=number,
            complaint=rng.choice(COMPLAINTS),
            language=patient.preferred_language,
            priority=Ticket.Priority.PRIORITY if senior else Ticket.Priority.NORMAL,
            priority_reason=Ticket.PriorityReason.SENIOR if senior else "",
            seq=queue_seq(day, number),
            status=status,
            booked_at=at(day, booked),
        )
        events: list[tuple[str, datetime, Doctor | None]] = [
            (TicketEvent.Kind.BOOKED, ticket.booked_at, None)
        ]
        seen: tuple[Doctor, int, int] | None = None
        if status == Ticket.Status.COMPLETED:
            begin = booked + seconds_of(900, 0.75, 30, 14_400, rng)
            end = begin + seconds_of(480, 0.45, 90, 2700, rng)
            doctor = roster[number % len(roster)]
            ticket.doctor = doctor
            ticket.consult_started_at, ticket.consult_ended_at = at(day, begin), at(day, end)
            ticket.status_changed_at = ticket.consult_ended_at
            events += [
                (TicketEvent.Kind.OFFERED, at(day, begin - 40), doctor),
                (TicketEvent.Kind.ACCEPTED, at(day, begin - 30), doctor),
                (TicketEvent.Kind.ANSWERED, at(day, begin), doctor),
                (TicketEvent.Kind.COMPLETED, at(day, end), doctor),
            ]
            seen = (doctor, begin, end)
        elif status == Ticket.Status.NO_SHOW:
            ticket.missed_calls = 1
            ticket.status_changed_at = at(day, booked + seconds_of(900, 0.75, 30, 14_400, rng))
            events.append((TicketEvent.Kind.NO_SHOW, ticket.status_changed_at, None))
        else:
            ticket.status_changed_at = at(day, booked + rng.randint(60, 1800))
            kind = TicketEvent.Kind.CANCELLED if status == "cancelled" else TicketEvent.Kind.LEFT
            events.append((kind, ticket.status_changed_at, None))
        written.tickets.append(ticket)
        written.events += [
            TicketEvent(ticket=ticket, kind=kind, at=moment, doctor=doctor)
            for kind, moment, doctor in events
        ]
        return seen

    def _day(self, plan: OpdPlan, day: date, index: int, days: int, written: Written) -> None:
        rng = self.rng
        growth = 0.8 + 0.4 * index / max(days - 1, 1)
        wanted = self.per_day * plan.share * WEEKDAY_WEIGHTS[day.weekday()] * growth
        count = max(0, round(wanted * rng.uniform(0.8, 1.2)))
        if not count:
            return
        hours = rng.choices(range(9, 17), HOUR_WEIGHTS, k=count)
        # Enough of the OPD's doctors for the day, taking turns from day to day.
        on_duty = min(len(plan.doctors), math.ceil(count / CONSULTATIONS_PER_DOCTOR_DAY))
        roster = [plan.doctors[(index * on_duty + n) % len(plan.doctors)] for n in range(on_duty)]
        spans: dict[Doctor, list[int]] = {}  # doctor -> first start, last end
        for number, booked in enumerate(sorted(h * 3600 + rng.randrange(3600) for h in hours), 1):
            seen = self._visit(plan, day, number, booked, roster=roster, written=written)
            if seen is not None:
                doctor, begin, end = seen
                span = spans.setdefault(doctor, [begin, end])
                span[0], span[1] = min(span[0], begin), max(span[1], end)
        written.counters.append(OpdDay(opd=plan.opd, service_date=day, tokens_issued=count))
        for doctor, (begin, end) in spans.items():
            # On duty from about 09:00 to about 17:00, or longer to see everyone.
            starts = min(9 * 3600 - rng.randint(0, 900), begin - 60)
            ends = max(17 * 3600 + rng.randint(0, 1200), end + 60)
            written.shifts.append(
                DutyShift(
                    doctor=doctor,
                    opd=plan.opd,
                    started_at=at(day, starts),
                    ended_at=at(day, ends),
                    end_reason=DutyShift.EndReason.SIGNED_OFF,
                )
            )

    def write(self) -> dict[str, int]:
        """Everything, in the caller's transaction; returns counts for the command's report."""
        plans = self._plans()
        written = Written()
        days = (self.last - self.first).days + 1
        for index in range(days):
            day = self.first + timedelta(days=index)
            for plan in plans:
                self._day(plan, day, index, days, written)
        Ticket.objects.bulk_create(written.tickets, batch_size=500)
        TicketEvent.objects.bulk_create(written.events, batch_size=500)
        DutyShift.objects.bulk_create(written.shifts, batch_size=500)
        OpdDay.objects.bulk_create(written.counters, batch_size=500, ignore_conflicts=True)
        consultations = Consultation.objects.bulk_create(
            [
                Consultation(
                    ticket=t,
                    patient=t.patient,
                    doctor=t.doctor,
                    opd=t.opd,
                    started_at=t.consult_started_at or t.booked_at,
                )
                for t in written.tickets
                if t.status == Ticket.Status.COMPLETED
            ],
            batch_size=500,
        )
        write_prescriptions(consultations, self.rng)
        return {
            "tickets": len(written.tickets),
            "consultations": len(consultations),
            "patients": sum(len(p.patients) for p in plans if p.state is not None),
            "states": len({p.state.pk for p in plans if p.state is not None}),
        }
