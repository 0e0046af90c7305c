"""No administrator browses patient identities in /admin/ (issue 9, item 7).

As a superuser, the national administrator and a state administrator (both given every
permission, the worst case), every page of every registered model is opened: index, lists,
searches, raw-id pop-ups, add, change, history, delete and password pages, and the autocomplete
of every relation. No page may show a patient's name, date of birth, ABHA number or address, or
mobile number. Support finds a patient by the whole Patient ID only, and that is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import Role, User
from audit.models import AccessEvent
from core.models import District, Language, State
from notifications.models import Notification
from patients.models import Patient, Relationship
from queues.models import Ticket
from tests.consultations.conftest import visit
from tests.consultations.prescribing import sign
from tests.factories import PatientFactory, StaffFactory, state

pytestmark = pytest.mark.django_db
__all__ = ["visit"]  # the consultations' fixture: a patient in consultation with a doctor

NAME = "Zebunnisa Qureshi"
DEPENDANT = "Yasmin Ansari"
BORN = date(1937, 4, 23)
ABHA = "91123456789012"
ABHA_ADDRESS = "zebunnisa.q@abdm"
MOBILE = "+919812312399"
IDENTITY = [
    "Zebunnisa",
    "Qureshi",
    "Yasmin",
    "Ansari",
    "1937-04-23",
    "23 Apr 1937",
    "April 23, 1937",
    "Apr. 23, 1937",
    "23/04/1937",
    "23.04.1937",
    ABHA,
    "91-1234-5678-9012",
    ABHA_ADDRESS,
    "9812312399",
    "98123 12399",
]
PAGES_PER_MODEL = 5  # reference data has hundreds of rows; the patient's own are always in


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def identified(visit: Ticket, django_capture_on_commit_callbacks) -> Patient:
    """A patient with every identity a page could leak, a dependant, a visit with a signed
    prescription, a message about it, an API token and a look in the access log."""
    patient = visit.patient
    account = patient.account
    User.objects.filter(pk=account.pk).update(mobile=MOBILE, username=MOBILE)
    Patient.objects.filter(pk=patient.pk).update(
        name=NAME, date_of_birth=BORN, abha_number=ABHA, abha_address=ABHA_ADDRESS
    )
    PatientFactory(
        account=account, name=DEPENDANT, relationship=Relationship.CHILD, date_of_birth=BORN
    )
    prescription = sign(visit, django_capture_on_commit_callbacks)
    Notification.objects.create(
        idempotency_key=f"test:{prescription.public_id}",
        channel=Notification.Channel.SMS,
        recipient=MOBILE,
        body=f"Prescription for {NAME} is ready",
        topic="prescription-ready",
        about=prescription.public_id,
        status=Notification.Status.FAILED,
        last_error="gateway refused",
    )
    AuthToken.objects.create(user=account)
    AccessEvent.objects.create(
        patient=patient, accessor=account, accessor_role=Role.PATIENT, action="history"
    )
    patient.refresh_from_db()
    return patient


def with_every_permission(user: User) -> User:
    user.user_permissions.set(Permission.objects.all())
    return user


@pytest.fixture(
    params=["superuser", "national administrator", "state administrator"],
)
def administrator(request: pytest.FixtureRequest) -> User:
    if request.param == "superuser":
        return StaffFactory(is_staff=True, is_superuser=True)
    if request.param == "national administrator":
        return with_every_permission(StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True))
    return with_every_permission(
        StaffFactory(role=Role.STATE_ADMIN, state=state("UP"), is_staff=True)
    )


def object_ids(model: type[models.Model], patient: Patient) -> list[object]:
    related: dict[type[models.Model], list[object]] = {
        State: [patient.state_id],
        District: [patient.district_id],
        Language: [patient.preferred_language_id],
        User: [patient.account_id],
    }
    ids = list(model._default_manager.values_list("pk", flat=True)[:PAGES_PER_MODEL])
    return [*related.get(model, []), *ids]


def admin_pages(patient: Patient) -> Iterator[str]:
    # Parts of each identity, so that a page repeating the search term leaks nothing, while a
    # page that finds the patient by it shows the whole.
    searches = ["Zebun", "Qures", "+9198123123", "98123123", "9112345678", "zebunnisa.q"]
    searches.append(patient.patient_number)
    yield "/admin/"
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        yield base
        yield f"{base}?_popup=1&_to_field=id"
        yield from (f"{base}?q={term}" for term in searches)
        yield f"{base}add/"
        for pk in object_ids(model, patient):
            for page in ("change/", "history/", "delete/", "password/"):
                yield f"{base}{pk}/{page}"
        for field in model._meta.get_fields():
            # Autocomplete answers name what they find: every relation to a patient or account.
            if field.is_relation and field.concrete and field.related_model in (Patient, User):
                for term in ("", "Zeb", patient.patient_number, "98123"):
                    yield (
                        f"/admin/autocomplete/?app_label={model._meta.app_label}"
                        f"&model_name={model._meta.model_name}&field_name={field.name}"
                        f"&term={term}"
                    )
        del model_admin


def test_no_admin_page_shows_who_a_patient_is(identified: Patient, administrator: User) -> None:
    client = Client()
    client.force_login(administrator)
    opened = 0
    for path in admin_pages(identified):
        response = client.get(path)
        assert response.status_code < 500, path
        if response.status_code == 200:
            opened += 1
        body = response.content.decode()
        leaked = [needle for needle in IDENTITY if needle in body]
        assert not leaked, (path, leaked)
    assert opened > 50, "the crawl must reach the pages (is the administrator signed in?)"


# --- The support lookup ------------------------------------------------------------------------


def national_client() -> tuple[Client, User]:
    national = StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True)
    client = Client()
    client.force_login(national)
    return client, national


def test_support_finds_a_patient_by_the_whole_patient_id_and_it_is_audited(
    identified: Patient,
) -> None:
    client, national = national_client()
    assert "<tbody>" not in client.get("/admin/patients/patient/").content.decode()
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.ADMIN_LOOKUP).exists()

    number = identified.patient_number
    spaced = f"{number[:4]} {number[4:8]} {number[8:]}"
    started = timezone.now()
    page = client.get("/admin/patients/patient/", {"q": spaced}).content.decode()
    assert identified.display_patient_number in page
    assert NAME not in page
    [lookup] = AccessEvent.objects.filter(action=AccessEvent.Action.ADMIN_LOOKUP)
    assert (lookup.patient, lookup.accessor, lookup.accessor_role) == (
        identified,
        national,
        Role.NATIONAL_ADMIN,
    )
    assert lookup.at >= started

    # A part of an ID finds nothing, and a found patient has no page of their own.
    partial = client.get("/admin/patients/patient/", {"q": number[:8]}).content.decode()
    assert identified.display_patient_number not in partial
    assert client.get(f"/admin/patients/patient/{identified.pk}/change/").status_code in (
        302,
        403,
    )
    assert AccessEvent.objects.filter(action=AccessEvent.Action.ADMIN_LOOKUP).count() == 1


def test_only_the_national_level_looks_patients_up(identified: Patient) -> None:
    state_admin = with_every_permission(
        StaffFactory(role=Role.STATE_ADMIN, state=state("UP"), is_staff=True)
    )
    client = Client()
    client.force_login(state_admin)
    response = client.get("/admin/patients/patient/", {"q": identified.patient_number})
    assert response.status_code == 403
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.ADMIN_LOOKUP).exists()


def test_patient_accounts_are_not_staff_accounts(identified: Patient) -> None:
    client, _national = national_client()
    superuser = StaffFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    users = client.get("/admin/accounts/user/").content.decode()
    assert superuser.username in users
    assert MOBILE not in users
    change = client.get(f"/admin/accounts/user/{identified.account_id}/change/")
    assert change.status_code == 302  # "no such user": back to the list
    add = client.get("/admin/accounts/user/add/").content.decode()
    assert 'value="patient"' not in add
