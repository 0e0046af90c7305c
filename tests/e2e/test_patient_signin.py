"""Patients sign in with a mobile number and the code the Celery worker sends them by SMS."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from patients.models import Patient, Relationship
from tests.e2e.processes import LiveApp
from tests.e2e.support import (
    SmsInbox,
    ask_for_code,
    enter_code,
    fill_profile,
    fresh_mobile,
    national,
    sign_in_patient,
    sign_out,
)
from tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PATIENT_ID = re.compile(r"^\d{4}-\d{4}-\d{4}$")
HOME_HEADING = "See a government doctor from home, free of charge"
SMS_TASK_IN_WORKER = "Task notifications.tasks.send_sms["
HINDI = Path(__file__).resolve().parents[2] / "locale" / "hi" / "LC_MESSAGES"


def test_patient_signs_up_with_mobile_and_code(
    page: Page, sms: SmsInbox, live_app: LiveApp
) -> None:
    mobile = fresh_mobile()
    worker = live_app.process("celery worker")
    sent_before = worker.count_in_log(SMS_TASK_IN_WORKER)
    page.goto("/")
    page.get_by_role("link", name="Sign in or register with your mobile number").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in or register")

    ask_for_code(page, mobile)
    expect(page.get_by_role("main")).to_contain_text(f"••••••{mobile[-4:]}")
    code = sms.code_for(mobile)
    # The web process only queued the SMS: the Celery worker took the task and sent it.
    worker.wait_for_log(SMS_TASK_IN_WORKER, more_than=sent_before)
    enter_code(page, code)

    # A new number: the account holder describes themself first.
    expect(page).to_have_url(re.compile(r"/welcome/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tell us about yourself")
    fill_profile(
        page,
        name="सुनीता देवी",
        sex="Female",
        date_of_birth="1988-03-14",
        state="Uttar Pradesh",
        district="Lucknow",
        language="हिन्दी (Hindi)",
    )
    page.get_by_role("button", name="Save and continue").click()

    expect(page).to_have_url(re.compile(r"/family/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My family")
    expect(page.get_by_test_id("whoami-name")).to_have_text("सुनीता देवी")
    holder = page.get_by_test_id("member").filter(has_text="सुनीता देवी")
    expect(holder).to_contain_text("Account holder")
    expect(holder).to_contain_text("Lucknow, Uttar Pradesh")
    expect(holder).to_contain_text("14 Mar 1988")
    patient_id = holder.get_by_test_id("patient-id").inner_text()
    assert PATIENT_ID.match(patient_id), patient_id
    expect(page.get_by_role("status")).to_contain_text(
        f"Welcome, सुनीता देवी. Your Patient ID is {patient_id}."
    )

    # A child whose date of birth nobody wrote down; state and district come from the holder.
    page.get_by_role("link", name="Add a family member").click()
    expect(page.get_by_label("State or Union Territory")).to_have_value("UP")
    fill_profile(
        page,
        name="Aarav Kumar",
        relationship="Son or daughter",
        sex="Male",
        age_years=6,
        state="Uttar Pradesh",
        district="Lucknow",
        language="हिन्दी (Hindi)",
    )
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(r"/family/$"))
    members = page.get_by_test_id("member")
    expect(members).to_have_count(2)
    child = members.filter(has_text="Aarav Kumar")
    expect(child).to_contain_text("Son or daughter")
    expect(child).to_contain_text("6 years (estimated)")
    child_id = child.get_by_test_id("patient-id").inner_text()
    assert PATIENT_ID.match(child_id), child_id
    assert child_id != patient_id
    expect(page.get_by_role("status")).to_contain_text(
        f"Aarav Kumar was added. Their Patient ID is {child_id}."
    )

    sign_out(page)
    expect(page.get_by_test_id("whoami-name")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Your account")).to_contain_text("Patient sign-in")
    page.goto("/family/")
    expect(page).to_have_url(re.compile(r"/signin/\?next=/family/$"))


def test_new_patient_s_language_follows_the_state_until_they_choose(
    page: Page, sms: SmsInbox
) -> None:
    sign_in_patient(page, sms, fresh_mobile())
    expect(page).to_have_url(re.compile(r"/welcome/$"))
    language = page.get_by_label("Language for consultations")
    # Browsing in English with no state yet: Hindi, the most widely spoken (not Assamese, the
    # first in the list).
    expect(language).to_have_value("hi")

    page.get_by_label("State or Union Territory").select_option(label="Tamil Nadu")
    expect(language).to_have_value("ta")
    page.get_by_label("State or Union Territory").select_option(label="Uttar Pradesh")
    expect(language).to_have_value("hi")  # English on screen, Hindi spoken

    language.select_option(label="اردو (Urdu)")
    page.get_by_label("State or Union Territory").select_option(label="Bihar")
    expect(language).to_have_value("ur")  # the person's own choice stays


def test_returning_patient_signs_in(open_page: Callable[..., Page], sms: SmsInbox) -> None:
    holder: Patient = PatientFactory(name="Ramesh Yadav")
    PatientFactory(account=holder.account, relationship=Relationship.PARENT, name="Kamla Devi")
    page = open_page()

    sign_in_patient(page, sms, national(str(holder.account.mobile)))

    expect(page).to_have_url(re.compile(r"/family/$"))
    expect(page.get_by_test_id("whoami-name")).to_have_text("Ramesh Yadav")
    expect(page.get_by_test_id("member")).to_have_count(2)
    expect(page.get_by_test_id("member").filter(has_text="Kamla Devi")).to_contain_text(
        "Father or mother"
    )


def test_wrong_code_is_refused_and_page_explains(page: Page, sms: SmsInbox) -> None:
    mobile = fresh_mobile()
    page.goto("/signin/")
    ask_for_code(page, mobile)
    code = sms.code_for(mobile)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    enter_code(page, wrong)

    expect(page).to_have_url(re.compile(r"/signin/code/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code from the SMS")
    expect(page.get_by_role("alert")).to_contain_text("Please correct the highlighted fields.")
    expect(page.locator("#id_code_errors")).to_have_text("That code is not right.")
    expect(page.get_by_role("status")).to_contain_text("4 attempts left for this code.")
    expect(page.get_by_test_id("whoami-name")).to_have_count(0)

    # The right code still works afterwards.
    enter_code(page, code)
    expect(page).to_have_url(re.compile(r"/welcome/$"))


def test_language_switch_to_hindi(page: Page) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(HOME_HEADING)

    page.get_by_role("button", name="हिंदी").click()

    expect(page.locator("html")).to_have_attribute("lang", "hi")
    expect(page.get_by_role("button", name="हिंदी")).to_have_attribute("aria-pressed", "true")
    assert (HINDI / "django.mo").exists(), "Compile the catalogues: manage.py compilemessages"
    expect(heading).not_to_have_text(HOME_HEADING)
    # Devanagari, not an untranslated English string with a different wording.
    expect(heading).to_have_text(re.compile(r"[\u0900-\u097F]"))
