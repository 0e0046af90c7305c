"""The e-prescription in the browser: the doctor writes it beside the video, it survives a reload,
the doctor signs it, the worker renders the PDF and texts the family, and the family downloads
the PDF and the health record; the QR code on the PDF opens the public verification page.

Everything runs on the live processes: Daphne, one Celery worker on Redis, Chromium.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Route, expect
from pypdf import PdfReader

from core.clock import india_today
from tests.e2e.processes import LiveApp
from tests.e2e.support import SmsInbox, fresh_mobile, sign_in_patient
from tests.e2e.test_call import (
    LIVE_MS,
    OpenPage,
    expect_connected,
    open_call_as_doctor,
    open_call_as_patient,
)
from tests.e2e.visits import called_patient, in_consultation, opd_open_round_the_clock
from tests.factories import DoctorFactory
from tests.pdfs import qr_payload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The worker renders the PDF and sends the SMS; on this machine that takes about a second.
WORKER_MS = 20_000
NUMBER = re.compile(r"RX\d{4}-\d{7}")


def panel(page: Page) -> Locator:
    return page.locator("[data-prescription-panel]")


def expect_saved(page: Page) -> None:
    expect(panel(page)).to_have_attribute("data-save-state", "saved", timeout=LIVE_MS)


def write_prescription(page: Page) -> None:
    """What a doctor types during a fever consultation, in the order the form asks for it."""
    form = panel(page)
    form.get_by_label("Chief complaints").fill("Fever for three days, body ache")
    form.get_by_label("Provisional diagnosis").fill("Acute viral fever")
    form.get_by_label("ICD-10 code (optional)").fill("A09")
    # The first medicine row is there from the start.
    medicine = form.get_by_role("group", name="Medicine 1")
    medicine.get_by_label("Medicine name").fill("Paracetamol")
    medicine.get_by_label("Strength").fill("500 mg")
    medicine.get_by_label("Form", exact=True).select_option(label="Tablet")
    medicine.get_by_label("Dose").fill("1 tablet")
    medicine.get_by_label("How often").select_option(label="Three times a day")
    medicine.get_by_label("For how many days").fill("3")
    medicine.get_by_label("Route").select_option(label="By mouth")
    medicine.get_by_label("When, with food").select_option(label="After food")
    form.get_by_label("Advice").fill("Drink plenty of water and rest.")
    # Vitals, when the patient reports them, are folded below.
    form.get_by_text("Vitals, examination, investigations and referral").click()
    form.get_by_label("Temperature (°C)").fill("38.6")


def download(page: Page, link: Locator, directory: Path) -> bytes:
    with page.expect_download() as event:
        link.click()
    path = directory / event.value.suggested_filename
    event.value.save_as(path)
    return path.read_bytes()


def test_the_doctor_signs_during_the_call_and_the_family_downloads_it(
    open_page: OpenPage, sms: SmsInbox, live_app: LiveApp, tmp_path: Path
) -> None:
    opd = opd_open_round_the_clock()
    doctor = DoctorFactory(user__full_name="Dr. Meera Nair", registration_number="UPMC-42117")
    visit = in_consultation(opd, doctor)

    doctor_page = open_call_as_doctor(open_page, doctor, visit.ticket)
    patient = open_call_as_patient(open_page, sms, visit)
    expect_connected(doctor_page)
    expect_connected(patient)

    # Beside the video, the doctor writes; the form saves itself as the doctor types.
    expect(panel(doctor_page)).to_have_attribute("data-state", "draft")
    write_prescription(doctor_page)
    expect_saved(doctor_page)

    # Nothing is lost on reload: the call comes back and so does every field.
    doctor_page.reload()
    expect_connected(doctor_page)
    form = panel(doctor_page)
    expect(form.get_by_label("Chief complaints")).to_have_value("Fever for three days, body ache")
    expect(form.get_by_label("Medicine name")).to_have_value("Paracetamol")
    expect(form.get_by_label("How often")).to_have_value("tds")
    expect(form.get_by_label("Advice")).to_have_value("Drink plenty of water and rest.")

    # Signing asks first, then the form is locked and the prescription numbered.
    form.get_by_role("button", name="Sign and send").click()
    form.get_by_role("button", name="Yes, sign and send").click()
    final_text = form.locator("[data-final-text]")
    expect(final_text).to_contain_text(NUMBER)
    number = NUMBER.search(final_text.inner_text())
    assert number, final_text.inner_text()
    expect(form.get_by_label("Chief complaints")).to_be_disabled()

    # The worker renders the PDF and texts the family a sign-in-protected link.
    text = sms.wait_for_text(visit.mobile, number.group(0), timeout_s=WORKER_MS / 1000)
    link = re.search(r"https?://\S+/pdf/", text)
    assert link and link.group(0).startswith(live_app.url), text

    # The patient follows the link (already signed in on this phone) and gets the PDF.
    with patient.expect_download() as event:
        patient.evaluate("url => { window.location.href = url; }", link.group(0))
    pdf_path = tmp_path / "from-sms.pdf"
    event.value.save_as(pdf_path)
    pdf = pdf_path.read_bytes()
    content = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf_path).pages).split())
    for expected in (number.group(0), "Paracetamol", "Acute viral fever", "UPMC-42117"):
        assert expected in content, f"{expected!r} not in the PDF"

    # The family's history lists it, with both downloads.
    patient.goto("/family/")
    patient.get_by_role("link", name="My consultations").click()
    entry = patient.get_by_test_id("prescription")
    expect(entry).to_contain_text(number.group(0))
    record = json.loads(
        download(patient, entry.get_by_role("link", name=re.compile("health record")), tmp_path)
    )
    assert record["resourceType"] == "Bundle" and record["type"] == "document"
    assert any(e["resource"]["resourceType"] == "MedicationRequest" for e in record["entry"]), (
        "no medicines in the FHIR bundle"
    )

    # A pharmacist's phone reads the QR code and opens the verification page, signed in or not.
    verify_url = qr_payload(pdf, tmp_path)
    assert verify_url.startswith(f"{live_app.url}/verify/"), verify_url
    pharmacist = open_page()
    pharmacist.goto(verify_url)
    expect(pharmacist.get_by_test_id("genuine")).to_be_visible()
    expect(pharmacist.get_by_test_id("number")).to_have_text(number.group(0))
    expect(pharmacist.get_by_test_id("registration")).to_have_text("UPMC-42117")
    # Only what a pharmacist needs: not the patient's name, diagnosis or complaints.
    page_text = pharmacist.locator("main").inner_text()
    assert "Sunita" not in page_text
    assert "viral fever" not in page_text

    # The PDF is the family's: a stranger signed in as another patient is refused.
    stranger = open_page()
    sign_in_patient(stranger, sms, fresh_mobile())
    response = stranger.request.get(link.group(0))
    assert response.status == 404


def test_the_form_that_appears_when_the_patient_joins_numbers_its_rows_from_one(
    open_page: OpenPage, sms: SmsInbox
) -> None:
    opd = opd_open_round_the_clock()
    doctor = DoctorFactory()
    visit = called_patient(opd, doctor)

    # The doctor opens the call before the patient has pressed CALL NOW: the form waits.
    doctor_page = open_call_as_doctor(open_page, doctor, visit.ticket)
    expect(panel(doctor_page)).to_have_attribute("data-state", "pending")

    patient = open_page()
    sign_in_patient(patient, sms, visit.mobile)
    patient.goto(f"/waiting/{visit.ticket.public_id}/")
    patient.get_by_test_id("call-now").click()

    # The form arrives without a reload, with one row to write in: Medicine 1.
    form = panel(doctor_page)
    expect(form).to_have_attribute("data-state", "draft", timeout=WORKER_MS)
    expect(form.get_by_role("group", name=re.compile(r"^Medicine \d"))).to_have_count(1)
    expect(form.get_by_role("group", name="Medicine 1")).to_be_visible()
    # The rows for pages without JavaScript did not come alive: nothing unseen is submitted.
    expect(form.locator("noscript")).to_have_count(0)
    names = form.locator("[data-prescription-form]").evaluate(
        "f => [...new FormData(f).keys()].filter(k => k.startsWith('medicines.'))"
    )
    assert sorted({name.split(".")[1] for name in names}) == ["0"], names
    assert len(names) == 9, names

    form.get_by_role("button", name="Add a medicine").click()
    second = form.get_by_role("group", name="Medicine 2")
    expect(second.get_by_label("Medicine name")).to_be_focused()

    # An error names the row the doctor sees.
    first = form.get_by_role("group", name="Medicine 1")
    first.get_by_label("Medicine name").fill("Paracetamol")
    first.get_by_label("For how many days").fill("0")
    first.get_by_label("Medicine name").focus()
    status = form.locator("[data-save-status]")
    expect(status).to_contain_text("Medicine 1, For how many days:", timeout=LIVE_MS)
    expect(status).not_to_contain_text("Medicine 2")


def test_a_draft_saved_before_the_form_appears_brings_no_hidden_row(
    open_page: OpenPage, sms: SmsInbox
) -> None:
    """The form arrives parsed by DOMParser, where <noscript> holds real inputs: the empty row
    a page without JavaScript gets after saved medicines must not come alive."""
    opd = opd_open_round_the_clock()
    doctor = DoctorFactory()
    visit = called_patient(opd, doctor)
    ticket = visit.ticket.public_id

    doctor_page = open_call_as_doctor(open_page, doctor, visit.ticket)
    expect(panel(doctor_page)).to_have_attribute("data-state", "pending")
    held = {"panel": True}  # the call page's checks for the form wait while this is set

    def hold_the_form(route: Route) -> None:
        if held["panel"]:
            route.fulfill(status=503, body="")
        else:
            route.continue_()

    doctor_page.route(re.compile(r"/consultations/[0-9a-f-]+/\?panel=call$"), hold_the_form)
    patient = open_page()
    sign_in_patient(patient, sms, visit.mobile)
    patient.goto(f"/waiting/{ticket}/")
    patient.get_by_test_id("call-now").click()

    # Meanwhile the doctor saves a medicine from another tab.
    other_tab = doctor_page.context.new_page()
    other_tab.goto(f"/consultations/{ticket}/")
    csrf = next(c["value"] for c in doctor_page.context.cookies() if c["name"] == "csrftoken")
    saved = other_tab.request.put(
        f"/api/consultations/{ticket}/draft/",
        data={"medicines": [{"name": "ORS", "dosage_form": "powder"}]},
        headers={"X-CSRFToken": csrf, "Referer": doctor_page.url},
    )
    assert saved.ok, saved.text()
    held["panel"] = False

    form = panel(doctor_page)
    expect(form).to_have_attribute("data-state", "draft", timeout=WORKER_MS)
    expect(form.get_by_role("group", name=re.compile(r"^Medicine \d"))).to_have_count(1)
    expect(
        form.get_by_role("group", name="Medicine 1").get_by_label("Medicine name")
    ).to_have_value("ORS")
    names = form.locator("[data-prescription-form]").evaluate(
        "f => [...new FormData(f).keys()].filter(k => k.startsWith('medicines.'))"
    )
    assert sorted({name.split(".")[1] for name in names}) == ["0"], names
    form.get_by_role("button", name="Add a medicine").click()
    expect(
        form.get_by_role("group", name="Medicine 2").get_by_label("Medicine name")
    ).to_be_focused()


def test_after_the_call_the_patient_is_led_to_the_prescription(
    open_page: OpenPage, sms: SmsInbox, tmp_path: Path
) -> None:
    opd = opd_open_round_the_clock()
    doctor = DoctorFactory()
    visit = in_consultation(opd, doctor)
    follow_up = india_today() + timedelta(days=7)

    doctor_page = open_call_as_doctor(open_page, doctor, visit.ticket)
    patient = open_call_as_patient(open_page, sms, visit)
    expect(panel(doctor_page)).to_have_attribute("data-state", "draft")

    # The doctor ends the call first and writes the prescription after.
    doctor_page.get_by_test_id("hang-up").click()
    outcome = patient.get_by_test_id("visit-outcome")
    expect(outcome).to_be_visible(timeout=LIVE_MS)
    expect(outcome).to_contain_text("Your prescription is being prepared.")
    expect(patient.get_by_role("link", name="Back to the waiting room")).to_be_hidden()

    write_prescription(doctor_page)
    form = panel(doctor_page)
    form.get_by_label("Follow-up date").fill(follow_up.isoformat())
    expect_saved(doctor_page)
    form.get_by_role("button", name="Sign and send").click()
    form.get_by_role("button", name="Yes, sign and send").click()
    expect(form.locator("[data-final-text]")).to_contain_text(NUMBER)

    # The patient's page follows by itself: the prescription, the follow-up date, the history.
    expect(outcome.get_by_test_id("prescription-ready")).to_contain_text(NUMBER, timeout=WORKER_MS)
    expect(outcome.get_by_test_id("follow-up")).to_contain_text(
        f"{follow_up.day} {follow_up:%b} {follow_up.year}"
    )
    pdf = download(patient, outcome.get_by_test_id("download-prescription"), tmp_path)
    assert pdf.startswith(b"%PDF")
    outcome.get_by_role("link", name="All your consultations and prescriptions").click()
    expect(patient.get_by_role("heading", level=1)).to_have_text("Consultations and prescriptions")
