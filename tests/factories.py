"""Test data: the personas every test file shares."""

from __future__ import annotations

from datetime import date

import factory
from django.contrib.auth.hashers import make_password
from factory.django import DjangoModelFactory

from accounts.models import Role, User
from core.models import District, Language, State
from patients.identifiers import new_patient_number
from patients.models import Patient, Relationship, Sex
from providers.models import Doctor, Facility, MedicalCouncil

STAFF_PASSWORD = "correct horse battery staple"


def state(code: str) -> State:
    return State.objects.get(code=code)


def district(state_code: str, name: str) -> District:
    return District.objects.get(state__code=state_code, name=name)


class PatientAccountFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    mobile = factory.Sequence(lambda n: f"+9198{n:08d}")
    username = factory.LazyAttribute(lambda o: o.mobile)
    role = Role.PATIENT
    password = factory.LazyFunction(lambda: make_password(None))  # signs in by OTP only


class StaffFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    full_name = factory.Faker("name", locale="en_IN")
    role = Role.NATIONAL_ADMIN

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or STAFF_PASSWORD)
        if create:
            self.save(update_fields=["password"])


class FacilityFactory(DjangoModelFactory[Facility]):
    class Meta:
        model = Facility

    name = factory.Sequence(lambda n: f"Community Health Centre {n}")
    state = factory.LazyFunction(lambda: state("UP"))
    hfr_id = factory.Sequence(lambda n: f"IN09{n:08d}")


class DoctorFactory(DjangoModelFactory[Doctor]):
    class Meta:
        model = Doctor
        skip_postgeneration_save = True

    user = factory.SubFactory(StaffFactory, role=Role.DOCTOR)
    qualification = "MBBS"
    medical_council = MedicalCouncil.UP
    registration_number = factory.Sequence(lambda n: f"UPMC-{n:05d}")
    home_state = factory.LazyFunction(lambda: state("UP"))
    facility = factory.SubFactory(FacilityFactory, state=factory.SelfAttribute("..home_state"))

    @factory.post_generation
    def languages(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create:
            self.languages.set(Language.objects.filter(code__in=extracted or ["hi", "en"]))


class PatientFactory(DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    account = factory.SubFactory(PatientAccountFactory)
    patient_number = factory.LazyFunction(new_patient_number)
    relationship = Relationship.SELF
    name = factory.Faker("name", locale="en_IN")
    sex = Sex.FEMALE
    date_of_birth = date(1990, 5, 17)
    state = factory.LazyFunction(lambda: state("UP"))
    district = factory.LazyFunction(lambda: district("UP", "Lucknow"))
    preferred_language = factory.LazyFunction(lambda: Language.objects.get(code="hi"))
