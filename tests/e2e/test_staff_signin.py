"""Doctors and administrators sign in with a password and, once enrolled, an authenticator code."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.e2e.support import authenticator_code, enter_staff_password, sign_out
from tests.factories import STAFF_PASSWORD, DoctorFactory, StaffFactory, state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SECOND_STEP_HEADING = "Enter your authenticator code"


def test_staff_signs_in_with_password_and_totp(open_page: Callable[..., Page]) -> None:
    doctor = DoctorFactory(registration_number="UPMC-04217", user__full_name="Dr. Meera Nair")
    device = TOTPDevice.objects.create(user=doctor.user, name="Phone", confirmed=True)
    page = open_page()

    enter_staff_password(page, doctor.user.username, STAFF_PASSWORD)

    expect(page).to_have_url(re.compile(r"/staff/signin/code/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(SECOND_STEP_HEADING)
    # The password alone signs nobody in.
    expect(page.get_by_test_id("whoami-name")).to_have_count(0)
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/staff/signin/\?next=/staff/$"))

    page.goto("/staff/signin/code/")
    page.get_by_label("Code from your authenticator app").fill(authenticator_code(device.bin_key))
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Dr. Meera Nair")
    expect(page.get_by_test_id("whoami-name")).to_have_text("Dr. Meera Nair")
    expect(page.get_by_role("main")).to_contain_text("UPMC-04217")
    facts = page.locator("dl.facts")
    expect(facts.locator("dt:has-text('Second sign-in factor') + dd")).to_contain_text("On")


def test_staff_enrols_authenticator(open_page: Callable[..., Page]) -> None:
    admin = StaffFactory(role=Role.STATE_ADMIN, state=state("UP"), full_name="Anil Verma")
    page = open_page()

    enter_staff_password(page, admin.username, STAFF_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Anil Verma")
    second_factor = page.locator("dl.facts dt:has-text('Second sign-in factor') + dd")
    expect(second_factor).to_contain_text("Off")

    second_factor.get_by_role("link", name="Change").click()
    expect(page).to_have_url(re.compile(r"/staff/security/$"))
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    key = base64.b32decode(page.get_by_test_id("totp-secret").inner_text().strip())
    page.get_by_label("Code from your authenticator app").fill(authenticator_code(key))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Your authenticator app is now required to sign in."
    )
    expect(page.get_by_role("main")).to_contain_text(
        "Your account asks for a code from your authenticator app at every sign-in."
    )

    sign_out(page)
    enter_staff_password(page, admin.username, STAFF_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(SECOND_STEP_HEADING)
    page.get_by_label("Code from your authenticator app").fill(
        authenticator_code(key, steps_ahead=1)
    )
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_test_id("whoami-name")).to_have_text("Anil Verma")
    expect(second_factor).to_contain_text("On")
