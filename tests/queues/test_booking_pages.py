"""The booking page and what the doctor reads of a priority claim (console and call page),
through Django's test client."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.utils import timezone

from patients.models import Relationship, Sex
from queues.models import DoctorPresence, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from queues.views import eta_phrase
from tests.factories import DoctorFactory, PatientFactory

pytestmark = pytest.mark.django_db

BOY = {"sex": Sex.MALE, "date_of_birth": date(2021, 6, 1), "relationship": Relationship.CHILD}


def booking(opd, **fields: str) -> dict[str, str]:
    return {"opd": str(opd.public_id), "complaint": "Fever for two days", **fields}


def claims_offered(page: str) -> list[str]:
    return [
        value
        for value in ("pregnant", "disability")
        if f'name="priority_reason" value="{value}"' in page
    ]


def test_the_form_offers_only_the_claims_the_member_s_record_allows(client: Client, family, opd):
    boy = PatientFactory(account=family.account, **BOY)
    client.force_login(family.account)
    assert claims_offered(client.get(f"/book/{boy.public_id}/").content.decode()) == ["disability"]
    woman = client.get(f"/book/{family.public_id}/").content.decode()
    assert claims_offered(woman) == ["pregnant", "disability"]
    assert "Patients aged 60 or more get priority automatically" in woman


def test_a_claim_the_record_rules_out_is_refused_beside_the_field(
    client: Client, family, opd, sms_outbox
):
    boy = PatientFactory(account=family.account, **BOY)
    client.force_login(family.account)
    response = client.post(f"/book/{boy.public_id}/", booking(opd, priority_reason="pregnant"))
    assert response.status_code == 200
    page = response.content.decode()
    errors = page[page.index('id="id_priority_reason_errors"') :]
    assert errors.index("Pregnancy cannot be claimed for a member recorded as male.") < 200
    assert not Ticket.objects.exists()
    assert sms_outbox == []


def test_a_declared_claim_books_with_the_account_on_record(client: Client, family, opd):
    client.force_login(family.account)
    response = client.post(f"/book/{family.public_id}/", booking(opd, priority_reason="pregnant"))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.priority_reason, ticket.priority_declared_by) == ("pregnant", family.account)


# --- What the doctor reads ---------------------------------------------------------------------


@pytest.fixture
def claimed_queue(opd, django_capture_on_commit_callbacks):
    """A doctor on duty, offered a family's declared pregnancy, with a senior waiting next."""
    run = django_capture_on_commit_callbacks
    pregnant = PatientFactory(name="Pooja Devi", date_of_birth=date(1996, 2, 1))
    senior = PatientFactory(name="Ram Lal", sex=Sex.MALE, date_of_birth=date(1950, 1, 1))
    with run(execute=True):
        first = book(
            account=pregnant.account,
            patient=pregnant,
            opd=opd,
            complaint="Swollen feet",
            priority_reason="pregnant",
        )
    with run(execute=True):
        book(account=senior.account, patient=senior, opd=opd, complaint="Cough")
    doctor = DoctorFactory()
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    with run(execute=True):
        duty.go_on_duty(doctor, [opd.pk])
    first.refresh_from_db()
    assert first.status == Ticket.Status.OFFERED
    return doctor, first


def test_the_console_shows_each_claim_and_whose_word_it_is(client: Client, claimed_queue):
    doctor, _offered = claimed_queue
    client.force_login(doctor.user)
    page = client.get("/console/").content.decode()
    current = page[page.index('data-testid="priority"') :]
    assert current.index("Pregnant") < current.index("(declared by the family)") < 200
    upcoming = page[page.index('data-testid="next-priority"') :]
    assert "Aged 60 or more" in upcoming[:300]
    assert "(by the date of birth on record)" in upcoming[:300]


def test_the_call_page_shows_the_doctor_the_declared_claim(
    client: Client, claimed_queue, django_capture_on_commit_callbacks
):
    doctor, ticket = claimed_queue
    with django_capture_on_commit_callbacks(execute=True):
        visits.accept_offer(doctor, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        visits.answer_call(ticket.patient.account, Ticket.objects.get(pk=ticket.pk))
    client.force_login(doctor.user)
    page = client.get(f"/call/{ticket.public_id}/").content.decode()
    claim = page[page.index('data-testid="priority"') :]
    assert claim.index("Pregnant") < claim.index("(declared by the family)") < 200


# --- The waiting room's estimated wait -----------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "phrase"),
    [
        (None, "when a doctor comes on duty"),
        (30, "less than a minute"),  # the page said "about 1 minute", its script "less than…"
        (60, "about 1 minute"),
        (61, "about 2 minutes"),
        (360, "about 6 minutes"),
    ],
)
def test_the_estimated_wait_is_worded_as_the_page_script_words_it(seconds, phrase):
    assert eta_phrase(seconds) == phrase


def test_the_waiting_room_loads_the_script_catalogue_of_its_language(client: Client, family, opd):
    ticket = book(account=family.account, patient=family, opd=opd, complaint="Fever")
    client.force_login(family.account)
    page = client.get(f"/waiting/{ticket.public_id}/").content.decode()
    assert "<dd data-eta>when a doctor comes on duty</dd>" in page
    assert page.index('<script src="/jsi18n/en/"></script>') < page.index("js/waiting")
    client.post("/i18n/setlang/", {"language": "hi"})
    page = client.get(f"/waiting/{ticket.public_id}/").content.decode()
    assert '<script src="/jsi18n/hi/"></script>' in page
