"""The personas and the states of a visit that the API contract drives.

Two families in Uttar Pradesh, two doctors, a state and the national administrator, and an
all-day OPD. A ticket is moved along through the services (not the API under test), with the
commit callbacks run as a committed request would run them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from consultations import services as prescribing
from consultations.models import Prescription
from consultations.selectors import consultation_for_doctor
from patients.models import Patient, Relationship, Sex
from providers.models import Doctor
from queues.models import DoctorPresence, Opd, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from tests.factories import DoctorFactory, PatientFactory, StaffFactory, state
from tests.queues.conftest import make_opd

UNKNOWN = str(uuid.uuid4())

PRESCRIPTION = {
    "chief_complaints": "Fever for 3 days",
    "diagnosis": "Acute viral fever",
    "icd10_code": "B34.9",
    "vitals": {"temperature_c": 38.4, "pulse": 96},
    "advice": "Drink plenty of fluids and rest",
}
MEDICINE = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
}  # fmt: skip


@dataclass
class World:
    run_on_commit: Callable[..., Any]
    family: Patient
    child: Patient
    other_family: Patient
    doctor: Doctor
    other_doctor: Doctor
    state_admin: User
    national_admin: User
    opd: Opd

    @classmethod
    def build(cls, run_on_commit: Callable[..., Any]) -> World:
        family = PatientFactory(name="Sunita Devi")
        child = PatientFactory(
            account=family.account,
            name="Ravi Kumar",
            relationship=Relationship.CHILD,
            sex=Sex.MALE,
            date_of_birth=date(2018, 2, 1),
        )
        return cls(
            run_on_commit=run_on_commit,
            family=family,
            child=child,
            other_family=PatientFactory(name="Meena Kumari"),
            doctor=DoctorFactory(user__full_name="Dr Asha Verma"),
            other_doctor=DoctorFactory(user__full_name="Dr Imran Khan"),
            state_admin=StaffFactory(role=Role.STATE_ADMIN, state=state("UP")),
            national_admin=StaffFactory(role=Role.NATIONAL_ADMIN),
            opd=make_opd("CT"),
        )

    @property
    def patient(self) -> User:
        account: User = self.family.account
        return account

    @property
    def stranger(self) -> User:
        account: User = self.other_family.account
        return account

    def waiting(self, patient: Patient | None = None) -> Ticket:
        patient = patient or self.family
        with self.run_on_commit(execute=True), transaction.atomic():
            return book(account=patient.account, patient=patient, opd=self.opd, complaint="Fever")

    def on_duty(self, doctor: Doctor | None = None) -> Doctor:
        doctor = doctor or self.doctor
        DoctorPresence.objects.update_or_create(
            doctor=doctor, defaults={"console_seen_at": timezone.now()}
        )
        with self.run_on_commit(execute=True):
            duty.go_on_duty(doctor, [self.opd.pk])
        return doctor

    def offered(self, patient: Patient | None = None) -> Ticket:
        """A ticket offered to ``doctor`` (booked, then the doctor comes on duty)."""
        ticket = self.waiting(patient)
        self.on_duty()
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OFFERED, ticket.status
        return ticket

    def called(self, patient: Patient | None = None) -> Ticket:
        ticket = self.offered(patient)
        with self.run_on_commit(execute=True):
            return visits.accept_offer(self.doctor, ticket)

    def in_consultation(self) -> Ticket:
        ticket = self.called()
        with self.run_on_commit(execute=True):
            return visits.answer_call(self.patient, ticket)

    def signed(self) -> Prescription:
        """A final prescription of a visit with ``doctor`` (the PDF task is not run)."""
        ticket = self.in_consultation()
        consultation = consultation_for_doctor(self.doctor, ticket.public_id)
        draft = prescribing.save_draft(
            prescribing.draft_for(consultation), data=PRESCRIPTION, medicines=[MEDICINE]
        )
        with self.run_on_commit(execute=False):
            prescribing.finalise(draft, doctor=self.doctor)
        return Prescription.objects.get(pk=draft.pk)
