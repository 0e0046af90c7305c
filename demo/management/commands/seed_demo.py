"""Demo data for ``make run``: two OPD-ready doctors, a state and a national administrator,
one patient family, and past weeks of visits for the dashboards (``seed_history``). Safe to run
again: it updates what exists and creates what is missing."""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Role, User
from consultations.documents import ensure_stored
from consultations.models import Prescription
from core.clock import india_today
from core.models import District, Language, State
from demo.visits import signed_visits
from patients.identifiers import new_patient_number
from patients.models import Patient, Relationship, Sex
from providers.models import Doctor, Facility, MedicalCouncil, Speciality
from queues.models import Opd, OpdHours

DEMO_MOBILE = "+919876543210"
DEMO_PASSWORD = "sanjeevani-demo"  # noqa: S105 - printed for the local demo on purpose

DOCTORS = [
    {
        "username": "dr.asha",
        "full_name": "Dr Asha Verma",
        "qualification": "MBBS, MD (General Medicine)",
        "registration_number": "UPMC-45821",
        "hpr_id": "asha.verma@hpr.abdm",
        "specialities": ["general-medicine"],
        "languages": ["hi", "en"],
    },
    {
        "username": "dr.imran",
        "full_name": "Dr Imran Qureshi",
        "qualification": "MBBS, DCH (Paediatrics)",
        "registration_number": "UPMC-51207",
        "hpr_id": "imran.qureshi@hpr.abdm",
        "specialities": ["paediatrics", "general-medicine"],
        "languages": ["hi", "ur", "en"],
    },
]

FAMILY = [
    ("Sunita Devi", Relationship.SELF, Sex.FEMALE, date(1988, 3, 14), False),
    ("Ramesh Kumar", Relationship.SPOUSE, Sex.MALE, date(1985, 11, 2), False),
    ("Anjali Kumari", Relationship.CHILD, Sex.FEMALE, date(2016, 7, 21), False),
    ("Kamla Devi", Relationship.PARENT_IN_LAW, Sex.FEMALE, date(1958, 1, 1), True),
]


class Command(BaseCommand):
    help = "Create or refresh the demo accounts and print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            up = State.objects.get(code="UP")
            lucknow = District.objects.filter(state=up, name="Lucknow").first()
            facility, _ = Facility.objects.update_or_create(
                hfr_id="IN0910000162",
                defaults={
                    "name": "District Hospital, Lucknow (demo)",
                    "state": up,
                    "district": lucknow,
                },
            )
            for spec in DOCTORS:
                self._doctor(spec, up, facility)
            self._staff("admin.up", "Uttar Pradesh State Administrator", Role.STATE_ADMIN, up)
            self._staff("admin.national", "National Administrator", Role.NATIONAL_ADMIN, None)
            self._family(up, lucknow)
            self._round_the_clock_opd(up)
            past = self._past_visits(up)
        for prescription in past:  # the signed PDF each document carries, as after a signing
            ensure_stored(prescription)
        # Past weeks of made-up visits for the dashboards (once: it adds nothing after that).
        call_command("seed_history", stdout=self.stdout)
        self._print_logins()

    def _staff(self, username: str, name: str, role: str, state: State | None) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_staff(username, None, role=role, state=state, full_name=name)
        user.full_name = name
        user.role = role
        user.state = state
        # Administrators use the admin site (a state's administrator sees its OPDs only).
        user.is_staff = role in (Role.NATIONAL_ADMIN, Role.STATE_ADMIN)
        user.is_superuser = role == Role.NATIONAL_ADMIN
        user.set_password(DEMO_PASSWORD)
        user.save()
        return user

    def _doctor(self, spec: dict[str, Any], state: State, facility: Facility) -> None:
        user = self._staff(spec["username"], spec["full_name"], Role.DOCTOR, None)
        doctor, _ = Doctor.objects.update_or_create(
            user=user,
            defaults={
                "qualification": spec["qualification"],
                "medical_council": MedicalCouncil.UP,
                "registration_number": spec["registration_number"],
                "hpr_id": spec["hpr_id"],
                "home_state": state,
                "facility": facility,
            },
        )
        doctor.specialities.set(Speciality.objects.filter(code__in=spec["specialities"]))
        doctor.languages.set(Language.objects.filter(code__in=spec["languages"]))

    def _family(self, state: State, district: District | None) -> None:
        account = User.objects.filter(mobile=DEMO_MOBILE).first()
        if account is None:
            account = User.objects.create_patient_account(DEMO_MOBILE)
        hindi = Language.objects.get(code="hi")
        for name, relationship, sex, born, estimated in FAMILY:
            Patient.objects.update_or_create(
                account=account,
                name=name,
                defaults={
                    "relationship": relationship,
                    "sex": sex,
                    "date_of_birth": born,
                    "dob_is_estimated": estimated,
                    "state": state,
                    "district": district,
                    "preferred_language": hindi,
                    "archived_at": None,
                },
                create_defaults={
                    "patient_number": new_patient_number(),
                    "relationship": relationship,
                    "sex": sex,
                    "date_of_birth": born,
                    "dob_is_estimated": estimated,
                    "state": state,
                    "district": district,
                    "preferred_language": hindi,
                },
            )

    def _round_the_clock_opd(self, state: State) -> None:
        """The demo state's general OPD stays open day and night, so the demo works at any
        hour; real hours are set by each state's administrator."""
        opd = Opd.objects.get(state=state, code="GM")
        opd.hours.all().delete()
        OpdHours.objects.bulk_create(
            [
                OpdHours(opd=opd, weekday=day, opens_at=time.min, closes_at=time.max)
                for day in range(7)
            ]
        )

    def _past_visits(self, state: State) -> list[Prescription]:
        """Sunita's and Ramesh's own past visits with signed prescriptions (once): the records
        the family links to an ABHA and shares through ABDM's consent manager."""
        account = User.objects.get(mobile=DEMO_MOBILE)
        opd = Opd.objects.get(state=state, code="GM")
        doctor = Doctor.objects.get(user__username=DOCTORS[0]["username"])
        today = india_today()
        made: list[Prescription] = []
        for name, ago in (("Sunita Devi", (40, 21, 7)), ("Ramesh Kumar", (12,))):
            member = Patient.objects.get(account=account, name=name)
            if member.consultations.exists():
                continue
            days = [today - timedelta(days=n) for n in ago]
            rng = random.Random(name)  # noqa: S311 - made-up visits, not secrets
            made += signed_visits(member, opd=opd, doctor=doctor, days=days, rng=rng)
        return made

    def _print_logins(self) -> None:
        where = "SMS_FILE_PATH" if "File" in settings.SMS_BACKEND else "this console"
        self.stdout.write(
            "\nDemo sign-ins\n"
            "  Patient family (4 members):  mobile 98765 43210 at /signin/ "
            f"- the one-time code appears in {where}\n"
            f"  Doctor, General Medicine:    dr.asha / {DEMO_PASSWORD}   at /staff/signin/, "
            "then /console/\n"
            f"  Doctor, Paediatrics:         dr.imran / {DEMO_PASSWORD}\n"
            f"  State administrator (UP):    admin.up / {DEMO_PASSWORD}  (OPD hours at /admin/)\n"
            f"  National administrator:      admin.national / {DEMO_PASSWORD}  (also /admin/)\n"
            "  Dashboards:                  /dashboard/ as admin.up (Uttar Pradesh) or "
            "admin.national (all states)\n"
            "  ABDM (offline gateway):      link Sunita Devi's ABHA 91-1234-5678-9015 from the "
            "family page (ABDM's test code 123456), then play her PHR app at "
            f"{settings.ABDM_GATEWAY_URL.split('/api/')[0]}/phr/\n"
        )
