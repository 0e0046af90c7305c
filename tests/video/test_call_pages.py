"""The call and pre-call pages through Django's test client (the call itself: tests/e2e)."""

from __future__ import annotations

import json
import re
from datetime import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from providers.models import Doctor
from queues.attachments import check_upload
from queues.models import DoctorPresence, Opd, OpdHours, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from queues.services.dispatch import forget_cached_hours
from tests.factories import DoctorFactory, PatientFactory
from video.models import ChatMessage, Side

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STATIC_JS = Path(settings.BASE_DIR) / "static" / "js"


@pytest.fixture(autouse=True)
def _fresh_hours_cache():
    forget_cached_hours()
    yield
    forget_cached_hours()


@pytest.fixture
def opd() -> Opd:
    opd = Opd.objects.get(state__code="UP", code="GM")
    opd.hours.all().delete()
    OpdHours.objects.bulk_create(
        [OpdHours(opd=opd, weekday=d, opens_at=time(0, 0), closes_at=time.max) for d in range(7)]
    )
    return opd


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """A service call with its after-commit work (dispatch, messages)."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


@pytest.fixture
def doctor(opd, run) -> Doctor:
    doctor = DoctorFactory(user__full_name="Dr. Meera Nair")
    DoctorPresence.objects.create(doctor=doctor)
    duty.heartbeat(doctor)
    run(duty.go_on_duty, doctor, [opd.pk])
    return doctor


@pytest.fixture
def called(opd, doctor, run) -> Ticket:
    """Sunita's token, with a record attached, offered to and accepted by the doctor."""
    patient = PatientFactory(name="Sunita Devi", account__preferred_language="en")
    upload = check_upload(
        SimpleUploadedFile("old prescription.pdf", PDF, content_type="application/pdf")
    )
    ticket = run(
        book,
        account=patient.account,
        patient=patient,
        opd=opd,
        complaint="Fever and cough for three days",
        uploads=[upload],
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OFFERED
    return run(visits.accept_offer, doctor, ticket)


def as_user(client: Client, user) -> Client:
    client.force_login(user)
    return client


def call_url(ticket: Ticket) -> str:
    return f"/call/{ticket.public_id}/"


def page_strings(html: str, element_id: str) -> dict[str, str]:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert match, f"no {element_id} on the page"
    strings: dict[str, str] = json.loads(match.group(1))
    return strings


def test_it_sends_anonymous_visitors_to_sign_in(client, called):
    response = client.get(call_url(called))
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/?next=")


def test_it_hides_the_call_from_another_family(client, called):
    outsider = PatientFactory()
    response = as_user(client, outsider.account).get(call_url(called))
    assert response.status_code == 404
    page = response.content.decode()
    assert called.token not in page
    assert "Sunita Devi" not in page
    assert "data-call" not in page


def test_it_hides_the_call_from_another_doctor(client, called):
    response = as_user(client, DoctorFactory().user).get(call_url(called))
    assert response.status_code == 404
    assert "Sunita Devi" not in response.content.decode()


def test_it_answers_an_unknown_room_like_a_stranger_s(client, called):
    response = as_user(client, called.patient.account).get(
        "/call/00000000-0000-4000-8000-000000000000/"
    )
    assert response.status_code == 404


def test_the_patient_gets_the_call_as_the_polite_side(client, called, opd, run):
    other = PatientFactory(name="Kavita Sharma")
    run(book, account=other.account, patient=other, opd=opd, complaint="Rash on both arms")
    response = as_user(client, called.patient.account).get(call_url(called))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert 'data-side="patient"' in page
    assert 'data-polite="true"' in page
    assert f'data-ws-path="/ws/call/{called.public_id}/"' in page
    assert "js/call.js" in page
    assert "Dr. Meera Nair" in page
    # The doctor's side panel and other patients' data never reach a patient.
    assert 'data-testid="call-patient"' not in page
    assert "/files/" not in page
    assert "Kavita Sharma" not in page
    assert "Rash on both arms" not in page
    strings = page_strings(page, "call-strings")
    assert strings["peer_muted"] == "The doctor's microphone is off."
    assert strings["you"] == "You"


def test_the_doctor_sees_the_patient_and_their_records(client, called, doctor):
    response = as_user(client, doctor.user).get(call_url(called))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-side="doctor"' in page
    assert 'data-polite="false"' in page
    assert 'data-testid="call-patient"' in page
    assert "Sunita Devi" in page
    assert "Fever and cough for three days" in page
    record = called.attachments.get()
    assert f'href="/files/{record.public_id}/"' in page
    assert "old_prescription.pdf" in page
    assert page_strings(page, "call-strings")["peer_muted"] == "The patient's microphone is off."
    # The records link works for this doctor.
    assert client.get(f"/files/{record.public_id}/").status_code == 200


def test_it_shows_the_chat_so_far(client, called):
    ChatMessage.objects.create(
        ticket=called, side=Side.DOCTOR, author=called.doctor.user, text="Please show the rash."
    )
    page = as_user(client, called.patient.account).get(call_url(called)).content.decode()
    assert "Please show the rash." in page
    assert 'class="chat-message chat-theirs"' in page


def test_the_call_stays_open_in_consultation(client, called, run):
    run(visits.answer_call, called.patient.account, called)
    page = as_user(client, called.patient.account).get(call_url(called)).content.decode()
    assert "data-call\n" in page or "data-call " in page
    assert "js/call.js" in page


def test_an_ended_consultation_shows_that_it_ended(client, called, doctor, run):
    run(visits.answer_call, called.patient.account, called)
    run(visits.end_consultation, doctor, called)
    for user in (called.patient.account, doctor.user):
        response = as_user(client, user).get(call_url(called))
        assert response.status_code == 200
        page = response.content.decode()
        assert "This consultation has ended" in page
        assert "js/call.js" not in page
        assert 'data-status="completed"' in page
    assert "Back to the console" in page


def test_a_token_not_yet_called_has_no_call_yet(client, opd):
    patient = PatientFactory()
    ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Headache")
    page = as_user(client, patient.account).get(call_url(ticket)).content.decode()
    assert "This call has not started yet" in page
    assert "Back to the waiting room" in page
    assert "js/call.js" not in page


def test_the_loopback_flag_reaches_the_page(client, called, settings):
    client = as_user(client, called.patient.account)
    settings.WEBRTC_LOOPBACK_ONLY = False
    assert 'data-loopback-only="false"' in client.get(call_url(called)).content.decode()
    settings.WEBRTC_LOOPBACK_ONLY = True
    assert 'data-loopback-only="true"' in client.get(call_url(called)).content.decode()
    assert 'data-loopback-only="true"' in client.get("/precall/").content.decode()


def _used_keys(script: str) -> set[str]:
    # The page's module and the modules of its concerns beside it (call.js and call/*.js).
    modules = [STATIC_JS / script, *sorted((STATIC_JS / Path(script).stem).glob("*.js"))]
    source = "\n".join(module.read_text(encoding="utf-8") for module in modules)
    keys = set(re.findall(r"strings\.(\w+)", source))
    # Looked up by name: strings[`state_${…}`], strings[`quality_${…}`], strings[REFUSALS[…]].
    for prefix in re.findall(r"strings\[`(\w+)\$\{", source):
        keys.add(prefix + "*")
    refusals = re.search(r"const REFUSALS = \{(.*?)\};", source, re.DOTALL)
    if refusals:
        keys.update(re.findall(r'"(\w+)"', refusals.group(1)))
    return keys


@pytest.mark.parametrize(
    ("url_of", "script", "element_id"),
    [
        (call_url, "call.js", "call-strings"),
        (lambda ticket: "/precall/", "precall.js", "precall-strings"),
    ],
)
def test_every_string_a_script_shows_is_on_its_page(client, called, url_of, script, element_id):
    page = as_user(client, called.patient.account).get(url_of(called)).content.decode()
    strings = page_strings(page, element_id)
    for key in _used_keys(script):
        if key.endswith("*"):
            assert any(name.startswith(key[:-1]) for name in strings), key
        else:
            assert strings.get(key), key


def test_the_call_page_speaks_hindi(client, called):
    client = as_user(client, called.patient.account)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    page = client.get(call_url(called)).content.decode()
    assert '<html lang="hi">' in page
    strings = page_strings(page, "call-strings")
    assert strings["peer_muted"] != "The doctor's microphone is off."
    assert re.search(r"[\u0900-\u097F]", strings["peer_muted"])


def test_the_precall_page_is_for_signed_in_people(client, called):
    assert client.get("/precall/").status_code == 302
    page = as_user(client, called.patient.account).get("/precall/").content.decode()
    assert 'data-offer-url="/api/precall/offer/"' in page
    assert "js/precall.js" in page


def test_the_waiting_room_links_to_the_precall_test_and_the_call(client, called, run):
    client = as_user(client, called.patient.account)
    page = client.get(f"/waiting/{called.public_id}/").content.decode()
    assert 'href="/precall/"' in page
    assert f'data-call-url="/call/{called.public_id}/"' in page
    run(visits.answer_call, called.patient.account, called)
    page = client.get(f"/waiting/{called.public_id}/").content.decode()
    assert f'href="/call/{called.public_id}/"' in page
    assert "Join the video call" in page


def test_the_console_links_the_doctor_to_the_call(client, called, doctor):
    page = as_user(client, doctor.user).get("/console/panel/").content.decode()
    assert f'href="/call/{called.public_id}/"' in page
    assert "Open the video call" in page
