"""The family pages, through Django's test client (the browser tests live in tests/e2e)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.test import Client

from accounts.models import User
from core.models import Language, State
from patients.models import Patient
from patients.services import likely_language
from queues.models import Ticket
from tests.factories import PatientAccountFactory, PatientFactory, state
from tests.queues.conftest import make_opd
from tests.queues.sockets import booked
from tests.sms import code_in

pytestmark = pytest.mark.django_db


def profile(**overrides):
    data = {
        "name": "Sunita Devi",
        "sex": "F",
        "date_of_birth": "1988-03-14",
        "age_years": "",
        "state": "UP",
        "district": "162",
        "preferred_language": "hi",
        "abha_number": "",
        "abha_address": "",
    }
    data.update(overrides)
    return data


def language(code: str) -> Language:
    return Language.objects.get(code=code)


def sign_in_by_page(client: Client, sms_outbox, capture, mobile="9812345678"):
    with capture(execute=True):
        response = client.post("/signin/", {"mobile": mobile})
    assert response["Location"] == "/signin/code/"
    code = code_in(sms_outbox[-1].body)
    response = client.post("/signin/code/", {"code": code})
    assert response.status_code == 302
    return response


def test_a_new_patient_signs_in_then_describes_themself(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    response = sign_in_by_page(client, sms_outbox, django_capture_on_commit_callbacks)
    assert response["Location"] == "/welcome/"
    response = client.post("/welcome/", profile())
    assert response["Location"] == "/family/"
    holder = Patient.objects.get(account__mobile="+919812345678")
    assert holder.is_account_holder
    page = client.get("/family/").content.decode()
    assert "Sunita Devi" in page
    assert holder.display_patient_number in page


def test_a_returning_patient_goes_straight_to_the_family(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    PatientFactory(account__mobile="+919812345678", account__username="+919812345678")
    response = sign_in_by_page(client, sms_outbox, django_capture_on_commit_callbacks)
    assert response["Location"] == "/family/"


def test_the_code_page_explains_a_wrong_code(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/signin/", {"mobile": "9812345678"})
    code = code_in(sms_outbox[-1].body)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page = client.post("/signin/code/", {"code": wrong}).content.decode()
    assert "That code is not right" in page
    assert "4 attempts left" in page
    assert not User.objects.filter(mobile="+919812345678").exists()


def test_the_family_page_writes_a_hindi_date_of_birth_in_full(client):
    holder = PatientFactory(date_of_birth=date(1984, 3, 15))
    client.force_login(holder.account)
    client.post("/i18n/setlang/", {"language": "hi"})
    page = client.get("/family/").content.decode()
    assert "15 मार्च 1984" in page
    assert "15 मा 1984" not in page


def test_the_family_page_writes_an_english_date_of_birth_day_first(client):
    holder = PatientFactory(date_of_birth=date(1984, 3, 15))
    client.force_login(holder.account)
    assert "15 Mar 1984" in client.get("/family/").content.decode()


def test_the_sign_in_page_explains_a_bad_number(client, sms_outbox):
    page = client.post("/signin/", {"mobile": "12345"}).content.decode()
    assert "valid 10-digit Indian mobile number" in page
    assert 'aria-invalid="true"' in page
    assert sms_outbox == []


def test_the_welcome_form_shows_field_errors_and_saves_nothing(client):
    client.force_login(_fresh_account())
    page = client.post("/welcome/", profile(date_of_birth="2099-01-01", district="")).content
    text = page.decode()
    assert "cannot be in the future" in text
    assert not Patient.objects.filter(name="Sunita Devi").exists()


def _fresh_account() -> User:
    return User.objects.create_patient_account("+919700000001")


def test_adding_and_removing_a_member_by_page(client, family):
    client.force_login(family.account)
    response = client.post(
        "/family/add/",
        profile(
            name="Ravi Kumar", relationship="spouse", sex="M", date_of_birth="", age_years="41"
        ),
    )
    assert response["Location"] == "/family/"
    ravi = Patient.objects.get(name="Ravi Kumar")
    assert ravi.dob_is_estimated
    assert ravi.age_years == 41
    client.post(f"/family/{ravi.public_id}/remove/")
    ravi.refresh_from_db()
    assert ravi.archived_at is not None
    assert "<h2>Ravi Kumar" not in client.get("/family/").content.decode()


def test_another_familys_member_pages_are_not_found(client, family, other_family):
    client.force_login(other_family.account)
    assert client.get(f"/family/{family.public_id}/edit/").status_code == 404
    assert client.post(f"/family/{family.public_id}/edit/", profile(name="X")).status_code == 404
    assert client.post(f"/family/{family.public_id}/remove/").status_code == 404
    family.refresh_from_db()
    assert family.name != "X"


def test_the_family_page_lists_the_familys_open_tokens(client, family, other_family):
    opd = make_opd("FT")
    waiting = booked(opd, family)
    finished = booked(opd, PatientFactory(account=family.account, relationship="child"))
    Ticket.objects.filter(pk=finished.pk).update(status=Ticket.Status.COMPLETED)
    booked(opd, other_family)
    client.force_login(family.account)

    page = client.get("/family/").content.decode()

    assert re.findall(r'data-testid="token-link">([^<]+)<', page) == [
        f"{waiting.token} · {family.name} · {opd.display_name} · Waiting"
    ]
    assert f'href="/waiting/{waiting.public_id}/"' in page


def test_the_family_page_has_no_tokens_section_without_tokens(client, family):
    client.force_login(family.account)

    assert "tokens-heading" not in client.get("/family/").content.decode()


def test_staff_are_sent_to_their_own_page(client, doctor_user):
    client.force_login(doctor_user)
    assert client.get("/family/")["Location"] == "/staff/"


def test_signed_out_visitors_are_sent_to_sign_in(client, family):
    response = client.get("/family/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_sign_out_needs_a_post(client, family):
    client.force_login(family.account)
    assert client.get("/signout/").status_code == 405
    client.post("/signout/")
    assert client.get("/family/").status_code == 302


# --- The consultation language a new member starts with ----------------------------------------


def selected_language(page: str) -> str:
    select = re.search(r'<select name="preferred_language".*?</select>', page, re.S)
    assert select is not None
    chosen = re.findall(r'<option value="(\w+)"[^>]*selected', select.group(0))
    assert len(chosen) == 1, chosen
    return chosen[0]


def state_languages(page: str) -> dict[str, str]:
    found = re.search(r'<script id="state-languages" type="application/json">(.*?)</script>', page)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_a_new_patient_browsing_in_english_starts_with_hindi_not_the_first_language(client):
    client.force_login(PatientAccountFactory())
    page = client.get("/welcome/").content.decode()
    assert selected_language(page) == "hi"  # not Assamese, the first in the list
    languages = state_languages(page)
    assert languages["UP"] == "hi"
    assert languages["BR"] == "hi"
    assert languages["TN"] == "ta"
    assert languages["WB"] == "bn"
    assert languages["ML"] == "en"
    assert set(languages) == set(State.objects.values_list("code", flat=True))


def test_a_new_patient_browsing_in_hindi_starts_with_hindi_in_every_state(client):
    client.force_login(PatientAccountFactory())
    client.post("/i18n/setlang/", {"language": "hi"})
    page = client.get("/welcome/").content.decode()
    assert selected_language(page) == "hi"
    assert set(state_languages(page).values()) == {"hi"}


def test_a_new_member_starts_with_the_holder_s_language(client):
    holder = PatientFactory(state=state("TN"), district=None, preferred_language=language("ta"))
    client.force_login(holder.account)
    page = client.get("/family/add/").content.decode()
    assert selected_language(page) == "ta"


def test_a_member_on_record_keeps_their_language_and_does_not_follow_the_state(client):
    holder = PatientFactory(preferred_language=language("ur"))
    client.force_login(holder.account)
    page = client.get(f"/family/{holder.public_id}/edit/").content.decode()
    assert selected_language(page) == "ur"
    assert 'id="state-languages"' not in page


@pytest.mark.parametrize(
    ("state_code", "ui_language", "expected"),
    [
        ("UP", "en", "hi"),  # English on screen in a Hindi state: Hindi is still spoken
        ("BR", "en", "hi"),
        ("TN", "en", "ta"),
        ("KA", "en", "kn"),
        ("AS", "en", "as"),
        ("MZ", "en", "en"),  # Mizo is not among our languages: English, the official one
        ("TN", "hi", "hi"),  # a page read in Hindi: Hindi
        (None, "en", "hi"),  # no state yet: the most widely spoken
    ],
)
def test_the_likely_language_rule(state_code, ui_language, expected):
    assert likely_language(state_code=state_code, ui_language=ui_language) == expected
