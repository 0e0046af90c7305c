"""The access log (issue 9, item 12): every door to a patient's records leaves one event (who,
what, whose, when in UTC, from which address); the log cannot be changed or deleted; records
are refused when it cannot be written; the family sees who looked; the national administrator
searches it, read-only."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AccessEvent, AppendOnly
from audit.services import record_access
from consultations.models import Prescription
from core.clock import IST
from patients.models import Patient, Relationship
from queues.models import Attachment, Ticket
from tests.consultations.prescribing import sign
from tests.factories import PatientFactory, StaffFactory, state

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DOCTOR_ADDRESS = "198.51.100.20"
FAMILY_ADDRESS = "203.0.113.7"
Action = AccessEvent.Action


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def signed(visit: Ticket, django_capture_on_commit_callbacks) -> Prescription:
    return sign(visit, django_capture_on_commit_callbacks, render=True)


@pytest.fixture
def record(visit: Ticket) -> Attachment:
    return Attachment.objects.create(
        ticket=visit,
        file=ContentFile(PDF, name="report.pdf"),
        content_type="application/pdf",
        size=len(PDF),
        original_name="blood report.pdf",
        sha256=hashlib.sha256(PDF).hexdigest(),
    )


def doctor_account(visit: Ticket) -> User:
    assert visit.doctor is not None
    return visit.doctor.user


def browser(user: User, address: str) -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def new_events(before: int) -> list[AccessEvent]:
    return list(AccessEvent.objects.order_by("id")[before:])


# --- Recording --------------------------------------------------------------------------------


def test_a_download_is_recorded_with_who_what_whose_when_and_where(signed: Prescription) -> None:
    patient = signed.consultation.patient
    started = timezone.now()
    response = browser(patient.account, FAMILY_ADDRESS).get(
        f"/prescriptions/{signed.public_id}/pdf/"
    )
    assert response.status_code == 200
    [event] = AccessEvent.objects.all()
    assert event.patient == patient
    assert event.accessor == patient.account
    assert event.accessor_role == Role.PATIENT
    assert event.action == Action.PDF
    assert event.subject == signed.public_id
    assert event.client_address == FAMILY_ADDRESS
    assert started <= event.at <= timezone.now()
    assert event.at.utcoffset() == timedelta(0), "stored in UTC"


def test_every_door_to_the_records_leaves_one_event(
    visit: Ticket, signed: Prescription, record: Attachment
) -> None:
    doctor = browser(doctor_account(visit), DOCTOR_ADDRESS)
    family = browser(visit.patient.account, FAMILY_ADDRESS)
    consultation = signed.consultation
    doors = [
        (doctor, f"/consultations/{visit.public_id}/", Action.CONSULTATION, consultation.public_id),
        (
            doctor,
            f"/consultations/{visit.public_id}/?panel=call",
            Action.CONSULTATION,
            consultation.public_id,
        ),
        (
            doctor,
            f"/api/consultations/{visit.public_id}/",
            Action.CONSULTATION,
            consultation.public_id,
        ),
        (doctor, f"/call/{visit.public_id}/", Action.CALL, visit.public_id),
        (doctor, f"/files/{record.public_id}/", Action.ATTACHMENT, record.public_id),
        (doctor, f"/prescriptions/{signed.public_id}/pdf/", Action.PDF, signed.public_id),
        (family, f"/prescriptions/{signed.public_id}/fhir/", Action.FHIR, signed.public_id),
        (family, f"/files/{record.public_id}/", Action.ATTACHMENT, record.public_id),
        (family, f"/api/prescriptions/{signed.public_id}/", Action.PRESCRIPTION, signed.public_id),
        (family, "/api/prescriptions/", Action.PRESCRIPTION, None),
        (family, "/history/", Action.HISTORY, None),
    ]
    for client, path, action, subject in doors:
        before = AccessEvent.objects.count()
        assert client.get(path).status_code == 200, path
        [event] = new_events(before)
        assert (event.action, event.subject, event.patient_id) == (
            action,
            subject,
            visit.patient_id,
        ), path
        expected = DOCTOR_ADDRESS if client is doctor else FAMILY_ADDRESS
        assert event.client_address == expected, path


def test_a_refused_look_leaves_no_event(signed: Prescription) -> None:
    stranger = browser(PatientFactory().account, FAMILY_ADDRESS)
    assert stranger.get(f"/prescriptions/{signed.public_id}/pdf/").status_code == 404
    assert not AccessEvent.objects.exists()


def test_recording_a_look_at_a_family_is_one_insert(visit: Ticket) -> None:
    family: list[Patient] = [
        visit.patient,
        *(
            PatientFactory(account=visit.patient.account, relationship=Relationship.CHILD)
            for _ in range(2)
        ),
    ]
    request = browser(visit.patient.account, FAMILY_ADDRESS).get("/").wsgi_request
    with CaptureQueriesContext(connection) as queries:
        record_access(request, Action.HISTORY, family)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert AccessEvent.objects.count() == 3


# --- Append-only -------------------------------------------------------------------------------


def test_the_log_cannot_be_changed_or_deleted(signed: Prescription) -> None:
    browser(signed.consultation.patient.account, FAMILY_ADDRESS).get(
        f"/prescriptions/{signed.public_id}/pdf/"
    )
    event = AccessEvent.objects.get()
    event.action = Action.HISTORY
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AccessEvent.objects.filter(pk=event.pk).update(client_address=None)
    with pytest.raises(AppendOnly):
        AccessEvent.objects.all().delete()
    # Below the ORM, the database refuses too.
    for sql in (
        "UPDATE audit_accessevent SET client_address = NULL",
        "DELETE FROM audit_accessevent",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    event.refresh_from_db()
    assert (event.action, event.client_address) == (Action.PDF, FAMILY_ADDRESS)


# --- When the log cannot be written -------------------------------------------------------------


@pytest.fixture
def log_refusing_writes() -> Iterator[None]:
    """The access log's table refuses new rows, as a full disk or a lost privilege would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_insert() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER test_refuse_insert BEFORE INSERT ON audit_accessevent "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_insert()"
        )
    yield  # the test's transaction is rolled back, and the trigger with it


def test_no_record_is_shown_when_its_look_cannot_be_recorded(
    visit: Ticket, signed: Prescription, log_refusing_writes: None
) -> None:
    family = browser(visit.patient.account, FAMILY_ADDRESS)
    pdf = family.get(f"/prescriptions/{signed.public_id}/pdf/")
    assert pdf.status_code == 503
    assert pdf["Content-Type"].startswith("text/html")
    assert "access log cannot be written" in pdf.content.decode()

    doctor = browser(doctor_account(visit), DOCTOR_ADDRESS)
    api = doctor.get(f"/api/consultations/{visit.public_id}/")
    assert api.status_code == 503
    assert api.json()["error"]["code"] == "audit_unavailable"
    assert api["Retry-After"] == "30"
    assert "Sunita" not in api.content.decode()

    history = family.get("/history/")
    assert history.status_code == 503
    assert signed.display_number not in history.content.decode()
    assert not AccessEvent.objects.exists()


# --- What the family sees ----------------------------------------------------------------------


def test_the_family_sees_who_looked_at_its_records(visit: Ticket, signed: Prescription) -> None:
    doctor = browser(doctor_account(visit), DOCTOR_ADDRESS)
    doctor.get(f"/prescriptions/{signed.public_id}/pdf/")
    # Another family, looked at by the same doctor, must not show here.
    other = PatientFactory(name="Kamla Bai")
    stranger_event = AccessEvent.objects.create(
        patient=other, accessor=doctor_account(visit), accessor_role=Role.DOCTOR, action=Action.CALL
    )
    family = browser(visit.patient.account, FAMILY_ADDRESS)
    family.get("/history/")  # the first visit is recorded...
    page = family.get("/history/").content.decode()  # ...and shown on the next

    section = page[page.index('data-testid="access-log"') :]
    assert "Who opened the records of your family" in section
    assert "Dr Asha Verma (doctor)" in section
    assert "Downloaded a prescription (PDF)" in section
    assert "Records of Sunita Devi" in section
    assert "You (this account)" in section
    assert "Opened the list of consultations and prescriptions" in section
    shown_at = AccessEvent.objects.get(action=Action.PDF).at
    in_india = timezone.localtime(shown_at, timezone.get_fixed_timezone(330))
    assert f'datetime="{in_india.isoformat()}"' in section
    assert in_india.strftime("%H:%M") in section
    assert "Kamla Bai" not in page
    assert stranger_event.patient.name not in section
    assert DOCTOR_ADDRESS not in page and FAMILY_ADDRESS not in page


# --- The national administrator's search -------------------------------------------------------


@pytest.fixture
def some_looks(visit: Ticket, signed: Prescription) -> Ticket:
    browser(doctor_account(visit), DOCTOR_ADDRESS).get(f"/prescriptions/{signed.public_id}/pdf/")
    browser(visit.patient.account, FAMILY_ADDRESS).get(f"/prescriptions/{signed.public_id}/fhir/")
    other = PatientFactory()
    AccessEvent.objects.create(
        patient=other, accessor=other.account, accessor_role=Role.PATIENT, action=Action.HISTORY
    )
    return visit


def test_the_national_administrator_searches_the_log(some_looks: Ticket) -> None:
    admin = browser(StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True), "192.0.2.1")
    patient_id = some_looks.patient.patient_number
    by_patient = admin.get("/admin/audit/accessevent/", {"q": patient_id}).content.decode()
    assert by_patient.count('class="field-action"') == 2
    assert DOCTOR_ADDRESS in by_patient and FAMILY_ADDRESS in by_patient
    assert "the family (its own account)" in by_patient
    assert str(some_looks.patient.account.mobile) not in by_patient

    doctor = doctor_account(some_looks).username
    by_doctor = admin.get("/admin/audit/accessevent/", {"q": doctor}).content.decode()
    assert by_doctor.count('class="field-action"') == 1
    # A family's account (its username is its mobile number) is not a key to search by.
    mobile = some_looks.patient.account.username
    by_mobile = admin.get("/admin/audit/accessevent/", {"q": mobile}).content.decode()
    assert by_mobile.count('class="field-action"') == 0

    today = timezone.now().astimezone(IST).date()  # the admin's dates are IST's
    by_day = admin.get(
        "/admin/audit/accessevent/",
        {"at__year": today.year, "at__month": today.month, "at__day": today.day},
    ).content.decode()
    assert by_day.count('class="field-action"') == 3
    tomorrow = (today + timedelta(days=1)).isoformat()
    later = admin.get("/admin/audit/accessevent/", {"at__gte": tomorrow}).content.decode()
    assert later.count('class="field-action"') == 0


def test_the_log_is_read_only_and_for_the_national_administrator_only(
    some_looks: Ticket,
) -> None:
    event = AccessEvent.objects.first()
    assert event is not None
    national = browser(StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True), "192.0.2.1")
    superuser = browser(StaffFactory(is_staff=True, is_superuser=True), "192.0.2.1")
    for client in (national, superuser):
        assert client.get("/admin/audit/accessevent/").status_code == 200
        assert client.get("/admin/audit/accessevent/add/").status_code == 403
        assert client.get(f"/admin/audit/accessevent/{event.pk}/delete/").status_code == 403
        change = client.post(f"/admin/audit/accessevent/{event.pk}/change/", {"action": "call"})
        assert change.status_code == 403
    state_admin = StaffFactory(role=Role.STATE_ADMIN, state=state("UP"), is_staff=True)
    for user in (state_admin, doctor_account(some_looks)):
        assert browser(user, "192.0.2.1").get("/admin/audit/accessevent/").status_code in (
            302,
            403,
        )
    assert AccessEvent.objects.get(pk=event.pk).action == event.action
