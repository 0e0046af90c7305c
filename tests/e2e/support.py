"""What the browser tests share: the SMS inbox the worker writes to, and the sign-in steps."""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django_otp.oath import totp
from playwright.sync_api import Page, expect

SMS_WAIT_SECONDS = 10.0
TOTP_STEP_SECONDS = 30
TOTP_FRESH_SECONDS = 3.0
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_mobiles = itertools.count(1)


def fresh_mobile() -> str:
    """A valid Indian mobile number (10 digits, as a person types it) no test has used."""
    return f"98123{next(_mobiles):05d}"


def e164(mobile: str) -> str:
    digits = re.sub(r"\D", "", mobile)
    return mobile if mobile.startswith("+") else f"+91{digits[-10:]}"


def national(mobile: str) -> str:
    """``+919812345678`` → ``9812345678``, what a patient types."""
    return re.sub(r"\D", "", mobile)[-10:]


@dataclass(frozen=True)
class SmsInbox:
    """The JSON-lines file ``FileSmsBackend`` appends to, read from a starting offset."""

    path: Path
    start: int

    @classmethod
    def from_now(cls, path: Path) -> SmsInbox:
        return cls(path, path.stat().st_size if path.exists() else 0)

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.start)
            data = handle.read().decode("utf-8")
        # A line still being written has no newline yet: leave it for the next poll.
        complete = data[: data.rfind("\n") + 1]
        found = [json.loads(line) for line in complete.splitlines() if line.strip()]
        return [m for m in found if to is None or m["to"] == e164(to)]

    def wait_for_message(self, to: str, *, after: int = 0) -> dict[str, Any]:
        """The newest SMS to ``to`` once more than ``after`` have arrived, polling ~10 s."""
        deadline = time.monotonic() + SMS_WAIT_SECONDS
        while True:
            received = self.messages(to)
            if len(received) > after:
                return received[-1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"No SMS to {e164(to)} within {SMS_WAIT_SECONDS}s "
                    f"({len(received)} so far; all new messages: {self.messages()})"
                )
            time.sleep(0.05)

    def wait_for_text(self, to: str, needle: str, *, timeout_s: float = SMS_WAIT_SECONDS) -> str:
        """The body of the first SMS to ``to`` that contains ``needle``, polling until it comes."""
        deadline = time.monotonic() + timeout_s
        while True:
            for message in self.messages(to):
                if needle in message["body"]:
                    body: str = message["body"]
                    return body
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"No SMS to {e164(to)} with {needle!r} within {timeout_s}s "
                    f"(received: {self.messages(to)})"
                )
            time.sleep(0.05)

    def code_for(self, to: str, *, after: int = 0) -> str:
        body: str = self.wait_for_message(to, after=after)["body"]
        match = _CODE.search(body)
        assert match, f"No 6-digit code in the SMS: {body!r}"
        return match.group(1)


# --- Patient sign-in ----------------------------------------------------------------------------


def ask_for_code(page: Page, mobile: str) -> None:
    """On the sign-in page: type the number, send, and arrive at the code page."""
    page.get_by_label("Mobile number").fill(mobile)
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code from the SMS")


def enter_code(page: Page, code: str) -> None:
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_in_patient(page: Page, sms: SmsInbox, mobile: str) -> None:
    """The whole sign-in, from the sign-in page to wherever the app sends the patient next."""
    page.goto("/signin/")
    ask_for_code(page, mobile)
    enter_code(page, sms.code_for(mobile))
    expect(page).not_to_have_url(re.compile(r"/signin/"))


def fill_profile(
    page: Page,
    *,
    name: str,
    sex: str,
    state: str,
    district: str,
    language: str,
    date_of_birth: str | None = None,
    age_years: int | None = None,
    relationship: str | None = None,
) -> None:
    """The family member form (welcome page and "Add a family member"), as a person fills it."""
    page.get_by_label("Full name").fill(name)
    if relationship is not None:
        page.get_by_label("Relationship to you").select_option(label=relationship)
    page.get_by_label(sex, exact=True).check()
    if date_of_birth is not None:
        page.get_by_label("Date of birth").fill(date_of_birth)
    if age_years is not None:
        page.get_by_label("Or age in years").fill(str(age_years))
    page.get_by_label("State or Union Territory").select_option(label=state)
    page.get_by_label("District").select_option(label=district)
    page.get_by_label("Language for consultations").select_option(label=language)


# --- Staff sign-in --------------------------------------------------------------------------------


def enter_staff_password(page: Page, username: str, password: str) -> None:
    page.goto("/staff/signin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def authenticator_code(key: bytes, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows now, or ``steps_ahead`` 30-second steps later.

    A code is accepted once only (django-otp refuses a time step at or before the last one it
    accepted), so a second sign-in within the same 30 s uses the next step's code, which the
    server's one-step tolerance accepts: what a person who waits for the next code would type.

    A code read in the last moments of its step may reach the server in the next one: accepted,
    but django-otp then records a drift of one step, and the next step's code would later look
    two steps ahead. So, like a person who sees the code about to change, wait for a fresh one.
    """
    while TOTP_STEP_SECONDS - time.time() % TOTP_STEP_SECONDS < TOTP_FRESH_SECONDS:
        time.sleep(0.05)
    return f"{totp(key, step=TOTP_STEP_SECONDS, drift=steps_ahead):06d}"


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
