"""The visit's record opens when the patient answers the call, and reading it writes nothing:
the API, the form page and the call page only read (issue 10: reads that only read)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AccessEvent
from consultations.models import Consultation, Prescription
from queues.models import Ticket
from queues.services import visits
from tests.conftest import as_user

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
# Reading a record is itself recorded: the access log is the one write a read makes.
ACCESS_LOG = AccessEvent._meta.db_table


@contextmanager
def no_writes() -> Iterator[None]:
    with CaptureQueriesContext(connection) as queries:
        yield
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if WRITE.match(query["sql"]) and ACCESS_LOG not in query["sql"]
    ]
    assert writes == []


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def call_back(ticket: Ticket) -> None:
    """The ticket as it was before the patient answered: called, with no record."""
    Prescription.objects.filter(consultation__ticket=ticket).delete()
    Consultation.objects.filter(ticket=ticket).delete()
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.CALLED,
        call_expires_at=timezone.now() + timedelta(minutes=1),
        consult_started_at=None,
    )


def counts() -> tuple[int, int]:
    return Consultation.objects.count(), Prescription.objects.count()


def test_it_opens_the_record_when_the_patient_answers(visit):
    consultation = Consultation.objects.get(ticket=visit)
    assert (consultation.doctor_id, consultation.patient_id) == (visit.doctor_id, visit.patient_id)
    assert consultation.started_at == visit.consult_started_at
    draft = consultation.prescriptions.get()
    assert (draft.status, draft.version, draft.chief_complaints) == ("draft", 1, "Fever")


def test_a_called_patient_has_no_record_until_answering(api, visit, run_on_commit):
    call_back(visit)
    before = counts()
    response = as_user(api, visit.doctor.user).get(f"/api/consultations/{visit.public_id}/")
    assert response.status_code == 404
    assert counts() == before

    with run_on_commit(execute=True):
        visits.answer_call(visit.patient.account, Ticket.objects.get(pk=visit.pk))
    assert Consultation.objects.filter(ticket=visit).exists()
    assert api.get(f"/api/consultations/{visit.public_id}/").status_code == 200


def test_the_api_reads_without_writing(api, visit):
    before = counts()
    with no_writes():
        response = as_user(api, visit.doctor.user).get(f"/api/consultations/{visit.public_id}/")
    assert response.status_code == 200
    assert response.json()["draft"]["chief_complaints"] == "Fever"
    assert counts() == before


def test_the_form_page_reads_without_writing(client: Client, visit):
    client.force_login(visit.doctor.user)
    before = counts()
    with no_writes():
        page = client.get(f"/consultations/{visit.public_id}/")
        panel = client.get(f"/consultations/{visit.public_id}/?panel=call")
    assert (page.status_code, panel.status_code) == (200, 200)
    assert counts() == before


def test_the_call_page_renders_the_form_without_writing(client: Client, visit):
    client.force_login(visit.doctor.user)
    before = counts()
    with no_writes():
        response = client.get(f"/call/{visit.public_id}/")
    assert response.status_code == 200
    draft = Prescription.objects.get(consultation__ticket=visit)
    assert f'data-prescription-id="{draft.public_id}"' in response.content.decode()
    assert counts() == before


def test_answering_again_keeps_the_record(visit, run_on_commit):
    """A ticket answered a second time keeps its record and its draft."""
    first = Consultation.objects.get(ticket=visit)
    Ticket.objects.filter(pk=visit.pk).update(
        status=Ticket.Status.CALLED, call_expires_at=timezone.now() + timedelta(minutes=1)
    )
    with run_on_commit(execute=True):
        visits.answer_call(visit.patient.account, Ticket.objects.get(pk=visit.pk))
    assert Consultation.objects.get(ticket=visit) == first
    assert first.prescriptions.count() == 1


def test_a_ticket_answered_before_this_change_gets_its_record(client: Client, visit):
    """Tickets answered by an old process had no record until the first read: the data
    migration opens it, as that read would have."""
    Prescription.objects.filter(consultation__ticket=visit).delete()
    Consultation.objects.filter(ticket=visit).delete()
    client.force_login(visit.doctor.user)
    assert client.get(f"/consultations/{visit.public_id}/").status_code == 404

    migration = importlib.import_module(
        "consultations.migrations.0003_open_records_of_answered_tickets"
    )
    migration.open_records(apps, None)

    consultation = Consultation.objects.get(ticket=visit)
    assert consultation.started_at == visit.consult_started_at
    assert consultation.prescriptions.get().chief_complaints == "Fever"
    assert client.get(f"/consultations/{visit.public_id}/").status_code == 200
