"""The prescription form and the family's history, through Django's test client (what a browser
without JavaScript gets; the browser itself: tests/e2e/test_prescription.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from consultations.models import Consultation, Prescription
from core.clock import india_today
from queues.models import DoctorPresence, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from tests.consultations.prescribing import SIGNED_AT, correct, sign
from tests.factories import DoctorFactory, PatientFactory
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db

DOSE_MISSING = {
    "medicines.0.name": "Paracetamol",
    "medicines.0.strength": "500 mg",
    "medicines.0.dosage_form": "tablet",
    "medicines.0.dose": "",
    "medicines.0.frequency": "tds",
    "medicines.0.duration_days": "3",
    "medicines.0.route": "oral",
    "medicines.0.timing": "after_food",
}


def page_url(ticket: Ticket) -> str:
    return f"/consultations/{ticket.public_id}/"


def as_user(client: Client, user) -> Client:
    client.force_login(user)
    return client


def form(**fields: str) -> dict[str, str]:
    """What the page's form posts, as a browser without JavaScript sends it."""
    posted = {
        "chief_complaints": "Fever for 3 days",
        "history": "",
        "examination": "",
        "diagnosis": "Viral fever",
        "icd10_code": "",
        "investigations": "",
        "advice": "Rest",
        "follow_up_on": "",
        "referral": "",
        "vitals.temperature_c": "38.2",
        "vitals.pulse": "",
        "action": "save",
        **DOSE_MISSING,
        "medicines.0.dose": "1 tablet",
        # The empty row the page always offers for one more medicine.
        "medicines.1.name": "",
        "medicines.1.dosage_form": "tablet",
        "medicines.1.frequency": "",
        "medicines.1.duration_days": "",
        "medicines.1.route": "oral",
        "medicines.1.timing": "any",
    }
    posted.update(fields)
    return posted


def draft_of(ticket: Ticket) -> Prescription:
    return Prescription.objects.get(consultation__ticket=ticket, status=Prescription.Status.DRAFT)


def visit_of_another_family(run_on_commit) -> Ticket:
    """A second family's patient, in consultation with another doctor in another OPD."""
    opd = make_opd("RY")
    patient = PatientFactory(name="Ramesh Yadav")
    with run_on_commit(execute=True), transaction.atomic():
        ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Cough")
    doctor = DoctorFactory(user__full_name="Dr Kiran Rao")
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    with run_on_commit(execute=True):
        duty.go_on_duty(doctor, [opd.pk])
    ticket.refresh_from_db()
    with run_on_commit(execute=True):
        visits.accept_offer(doctor, ticket)
    with run_on_commit(execute=True):
        visits.answer_call(patient.account, Ticket.objects.get(pk=ticket.pk))
    return Ticket.objects.select_related("doctor__user", "patient__account").get(pk=ticket.pk)


# --- Who may open the form -----------------------------------------------------------------


def test_it_shows_the_consultation_s_doctor_the_form_started_from_the_complaint(client, visit):
    response = as_user(client, visit.doctor.user).get(page_url(visit))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sunita Devi" in page
    assert re.search(r'<textarea name="chief_complaints"[^>]*>\s*Fever</textarea>', page)
    assert 'data-draft-url="/api/consultations/' in page
    for label in ("Chief complaints", "Provisional diagnosis", "Pulse (per minute)", "Dose"):
        assert f">{label}</label>" in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_what_a_doctor_writes_first_comes_first(client, visit):
    page = as_user(client, visit.doctor.user).get(page_url(visit)).content.decode()
    form_html = page[page.index("data-prescription-form") :]
    order = [
        "Chief complaints",
        "Provisional diagnosis",
        "Medicine name",
        "Advice",
        "Follow-up date",
        "Vitals, examination, investigations and referral",
        "Pulse (per minute)",
        "Examination findings",
        "Investigations advised",
        "Referral",
    ]
    positions = [form_html.index(f">{label}<") for label in order]
    assert positions == sorted(positions)
    # Vitals and the rest are folded while empty.
    assert re.search(r"<details class=\"group rx-more\" data-rx-more>", form_html)


def test_a_new_form_has_one_medicine_row_for_every_browser(client, visit):
    page = as_user(client, visit.doctor.user).get(page_url(visit)).content.decode()
    form_html = page[page.index("data-prescription-form") : page.index("data-medicine-template")]
    assert not re.search(r"<noscript>\s*<li", form_html)  # not only for pages without JavaScript
    assert form_html.count("data-medicine-row") == 1
    assert re.search(r"Medicine <span data-row-number>1</span>", form_html)
    assert 'name="medicines.0.name"' in form_html


def test_after_saved_medicines_only_pages_without_javascript_get_an_empty_row(client, visit):
    as_user(client, visit.doctor.user).post(page_url(visit), form())
    page = client.get(page_url(visit)).content.decode()
    form_html = page[page.index("data-prescription-form") : page.index("data-medicine-template")]
    assert form_html.count("data-medicine-row") == 2
    found = re.search(r"<noscript>\s*<li", form_html)
    assert found is not None
    noscript = form_html[found.start() :]
    assert 'name="medicines.1.name"' in noscript
    # Vitals were written, so their part of the form is open.
    assert re.search(r"<details class=\"group rx-more\" data-rx-more open>", page)


def test_it_hides_the_form_from_another_doctor(client, visit):
    response = as_user(client, DoctorFactory().user).get(page_url(visit))
    assert response.status_code == 404
    assert "Sunita Devi" not in response.content.decode()


def test_another_doctor_cannot_post_to_it(client, visit):
    response = as_user(client, DoctorFactory().user).post(page_url(visit), form())
    assert response.status_code == 404
    assert not Prescription.objects.filter(diagnosis="Viral fever").exists()


def test_the_patient_does_not_get_the_form(client, visit):
    response = as_user(client, visit.patient.account).get(page_url(visit), follow=True)
    # Patients following a doctor's link land on their own page (providers.decorators).
    assert response.redirect_chain[-1][0] == "/family/"
    assert "data-prescription-panel" not in response.content.decode()


def test_it_sends_anonymous_visitors_to_the_staff_sign_in(client, visit):
    response = client.get(page_url(visit))
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/signin/")


def test_an_unknown_ticket_is_not_found(client, visit):
    response = as_user(client, visit.doctor.user).get(
        "/consultations/00000000-0000-0000-0000-000000000000/"
    )
    assert response.status_code == 404


# --- The form without JavaScript -----------------------------------------------------------


def test_the_posted_form_saves_the_draft(client, visit):
    response = as_user(client, visit.doctor.user).post(page_url(visit), form())
    assert response.status_code == 302
    assert response["Location"] == page_url(visit)
    draft = draft_of(visit)
    assert draft.diagnosis == "Viral fever"
    assert draft.vitals == {"temperature_c": 38.2}
    assert [(m.name, m.dose, m.duration_days) for m in draft.medicines.all()] == [
        ("Paracetamol", "1 tablet", 3)
    ]  # the empty row was left out
    page = client.get(page_url(visit)).content.decode()
    assert "Draft saved." in page
    assert 'value="Paracetamol"' in page


def test_a_medicine_without_a_dose_cannot_be_signed_and_the_page_names_it(client, visit):
    response = as_user(client, visit.doctor.user).post(
        page_url(visit), form(action="finalise", **DOSE_MISSING)
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Some of the prescription is missing." in page
    assert "Paracetamol needs the dose." in page
    assert 'href="#rx-medicines-0"' in page  # the summary links to the medicine
    draft = draft_of(visit)  # kept as written, not signed
    assert draft.status == Prescription.Status.DRAFT
    assert draft.medicines.get().name == "Paracetamol"


def test_a_follow_up_in_the_past_is_refused(client, visit):
    yesterday = (india_today() - timedelta(days=1)).isoformat()
    response = as_user(client, visit.doctor.user).post(
        page_url(visit), form(follow_up_on=yesterday, diagnosis="Changed")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The follow-up date must be after today." in page
    assert 'id="rx-follow_up_on_errors"' in page
    assert 'aria-invalid="true"' in page
    assert f'value="{yesterday}"' in page  # what was typed stays on the page
    assert draft_of(visit).diagnosis == ""  # nothing saved


def test_a_field_error_shows_beside_the_medicine(client, visit):
    response = as_user(client, visit.doctor.user).post(
        page_url(visit), form(**{"medicines.0.duration_days": "0"})
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="rx-medicines-0-duration_days_errors"' in page
    assert "Medicine 1, For how many days:" in page


def test_signing_a_complete_prescription_numbers_it(
    client, visit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = as_user(client, visit.doctor.user).post(page_url(visit), form(action="finalise"))
    assert response.status_code == 302
    assert len(callbacks) == 1  # the PDF is rendered (and the record announced) after the commit
    final = Prescription.objects.get(consultation__ticket=visit)
    assert final.status == Prescription.Status.FINAL
    page = client.get(page_url(visit)).content.decode()
    assert f"Prescription {final.display_number} is signed and on its way to the patient." in page
    assert f'href="/prescriptions/{final.public_id}/pdf/"' in page
    assert re.search(r'<fieldset class="rx-fields" data-rx-fields disabled>', page)


def test_a_signed_prescription_is_corrected_as_a_new_version(
    client, visit, django_capture_on_commit_callbacks
):
    first = sign(visit, django_capture_on_commit_callbacks)
    response = as_user(client, visit.doctor.user).post(page_url(visit), {"action": "correct"})
    assert response.status_code == 302
    correction = draft_of(visit)
    assert correction.version == 2
    assert correction.supersedes == first
    page = client.get(page_url(visit)).content.decode()
    assert "Correction (version 2)." in page
    assert "Acute viral fever" in page  # starts from the signed version


def test_a_signed_prescription_refuses_a_posted_edit(
    client, visit, django_capture_on_commit_callbacks
):
    sign(visit, django_capture_on_commit_callbacks)
    response = as_user(client, visit.doctor.user).post(page_url(visit), form(diagnosis="Edited"))
    assert response.status_code == 409
    assert "Start a correction to change it." in response.content.decode()
    assert not Prescription.objects.filter(diagnosis="Edited").exists()


def test_the_doctor_sees_earlier_prescriptions_of_the_patient(
    client, visit, django_capture_on_commit_callbacks
):
    earlier = sign(visit, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        visits.end_consultation(visit.doctor, visit)
    # The same patient's next visit, with the same doctor.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        again = book(
            account=visit.patient.account, patient=visit.patient, opd=visit.opd, complaint="Cough"
        )
    again.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        visits.accept_offer(visit.doctor, again)
    with django_capture_on_commit_callbacks(execute=True):
        visits.answer_call(visit.patient.account, Ticket.objects.get(pk=again.pk))
    page = as_user(client, visit.doctor.user).get(page_url(again)).content.decode()
    listed = page[page.index('data-testid="earlier-prescriptions"') :]
    assert f"Prescription {earlier.display_number} (PDF)" in listed
    assert "Paracetamol 500 mg · 1 tablet · Three times a day · 3 days" in listed


# --- Beside the video ----------------------------------------------------------------------


def test_the_call_page_shows_the_doctor_the_form(client, visit):
    page = as_user(client, visit.doctor.user).get(f"/call/{visit.public_id}/").content.decode()
    assert 'data-prescription-panel\n  data-state="draft"' in page
    assert "call-prescription" in page
    assert "js/prescription.js" in page


def test_the_call_page_shows_the_patient_no_form(client, visit):
    page = as_user(client, visit.patient.account).get(f"/call/{visit.public_id}/")
    assert "data-prescription-panel" not in page.content.decode()
    assert "prescription.js" not in page.content.decode()


def test_the_call_page_loads_the_form_as_a_panel(client, visit):
    response = as_user(client, visit.doctor.user).get(page_url(visit) + "?panel=call")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith("<section")
    assert "call-prescription" in page
    assert 'data-testid="earlier-prescriptions"' not in page  # none yet: first visit
    assert "first prescription here" in page


# --- The family's history ------------------------------------------------------------------


def test_the_history_lists_the_family_s_consultations_and_prescriptions(
    client, visit, django_capture_on_commit_callbacks
):
    first = sign(visit, django_capture_on_commit_callbacks)
    second = correct(visit, first, django_capture_on_commit_callbacks)
    outsider_visit = visit_of_another_family(django_capture_on_commit_callbacks)
    sign(outsider_visit, django_capture_on_commit_callbacks)

    response = as_user(client, visit.patient.account).get("/history/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sunita Devi" in page
    assert "Dr Asha Verma" in page
    assert visit.token in page
    assert f"Prescription {first.display_number}" in page
    assert f"Prescription {second.display_number}" in page
    assert "Superseded: replaced by a corrected version" in page
    assert f'href="/prescriptions/{second.public_id}/pdf/"' in page
    assert f'href="/prescriptions/{second.public_id}/fhir/"' in page
    assert "Ramesh Yadav" not in page
    assert "Dr Kiran Rao" not in page


def test_the_history_writes_hindi_dates_with_the_month_in_full(
    client, visit, django_capture_on_commit_callbacks
):
    sign(visit, django_capture_on_commit_callbacks)
    Consultation.objects.filter(ticket=visit).update(started_at=SIGNED_AT)
    as_user(client, visit.patient.account).post("/i18n/setlang/", {"language": "hi"})
    page = client.get("/history/").content.decode()
    assert "10 मार्च 2026, 10:30" in page  # 05:00 UTC, shown in IST
    assert "10 मा 2026" not in page


def test_the_history_shows_no_draft(client, visit):
    as_user(client, visit.doctor.user).post(page_url(visit), form())
    page = as_user(client, visit.patient.account).get("/history/").content.decode()
    assert visit.token in page
    assert 'data-testid="prescription"' not in page
    assert "No prescription yet." in page


def test_an_outsider_s_history_shows_nothing_of_the_family(
    client, visit, django_capture_on_commit_callbacks
):
    sign(visit, django_capture_on_commit_callbacks)
    outsider = PatientFactory(name="Outsider Devi")
    page = as_user(client, outsider.account).get("/history/").content.decode()
    assert "Outsider Devi" in page
    assert "Sunita Devi" not in page
    assert visit.token not in page
    assert "No consultations yet." in page


def test_staff_and_strangers_do_not_get_a_history(client, visit):
    assert client.get("/history/").status_code == 302
    response = as_user(client, visit.doctor.user).get("/history/")
    assert response["Location"] == "/staff/"


def test_the_family_page_and_the_header_link_to_the_history(client, visit):
    page = as_user(client, visit.patient.account).get("/family/").content.decode()
    assert page.count('href="/history/"') == 2


# --- After the visit: no dead end for the family --------------------------------------------


def ended(visit: Ticket, run_on_commit) -> Ticket:
    assert visit.doctor is not None
    with run_on_commit(execute=True):
        visits.end_consultation(visit.doctor, visit)
    return Ticket.objects.get(pk=visit.pk)


def outcome_of(page: str) -> str:
    start = page.index('data-testid="visit-outcome"')
    return page[start : page.index("</section>", start)]


def test_after_the_visit_the_waiting_room_says_the_prescription_is_being_prepared(
    client, visit, django_capture_on_commit_callbacks
):
    ended(visit, django_capture_on_commit_callbacks)
    page = as_user(client, visit.patient.account).get(f"/waiting/{visit.public_id}/")
    outcome = outcome_of(page.content.decode())
    assert 'data-state="preparing"' in outcome
    assert f'data-url="/visits/{visit.public_id}/outcome/"' in outcome
    assert "Your prescription is being prepared." in outcome
    assert 'href="/history/"' in outcome
    assert " hidden>" not in outcome


def test_once_signed_the_family_is_led_to_the_prescription_and_the_follow_up(
    client, visit, django_capture_on_commit_callbacks
):
    ended(visit, django_capture_on_commit_callbacks)
    prescription = sign(visit, django_capture_on_commit_callbacks)  # follow-up on 17 March 2026
    as_user(client, visit.patient.account)
    for address in (f"/waiting/{visit.public_id}/", f"/visits/{visit.public_id}/outcome/"):
        outcome = outcome_of(client.get(address).content.decode())
        assert 'data-state="ready"' in outcome
        assert f"Prescription {prescription.display_number} for Sunita Devi is ready." in outcome
        assert f'href="/prescriptions/{prescription.public_id}/pdf/"' in outcome
        assert "see Sunita Devi again on 17 Mar 2026" in outcome
        assert 'href="/history/"' in outcome


def test_a_corrected_prescription_leads_to_the_valid_version(
    client, visit, django_capture_on_commit_callbacks
):
    ended(visit, django_capture_on_commit_callbacks)
    first = sign(visit, django_capture_on_commit_callbacks)
    second = correct(visit, first, django_capture_on_commit_callbacks)
    page = as_user(client, visit.patient.account).get(f"/visits/{visit.public_id}/outcome/")
    outcome = page.content.decode()
    assert f'href="/prescriptions/{second.public_id}/pdf/"' in outcome
    assert f"/prescriptions/{first.public_id}/" not in outcome


def test_the_call_page_after_the_visit_leads_the_patient_on(
    client, visit, django_capture_on_commit_callbacks
):
    live = as_user(client, visit.patient.account).get(f"/call/{visit.public_id}/")
    waiting_outcome = outcome_of(live.content.decode())
    assert " hidden>" in waiting_outcome  # shown by call.js when the doctor ends the visit
    assert "data-back hidden" not in live.content.decode()

    ended(visit, django_capture_on_commit_callbacks)
    page = client.get(f"/call/{visit.public_id}/").content.decode()
    assert "The doctor has ended the consultation." in page
    assert "Back to the waiting room" not in page
    assert "Your prescription is being prepared." in outcome_of(page)
    assert "js/visit-outcome" in page


def test_another_family_and_staff_get_nothing_of_the_outcome(
    client, visit, django_capture_on_commit_callbacks
):
    ended(visit, django_capture_on_commit_callbacks)
    sign(visit, django_capture_on_commit_callbacks)
    address = f"/visits/{visit.public_id}/outcome/"
    outsider = as_user(client, PatientFactory().account).get(address)
    assert outsider.status_code == 404
    assert "Sunita Devi" not in outsider.content.decode()
    assert as_user(client, visit.doctor.user).get(address)["Location"] == "/staff/"
    assert "no-cache" in as_user(client, visit.patient.account).get(address)["Cache-Control"]


# --- The console ---------------------------------------------------------------------------


def test_the_console_links_to_the_prescription_during_and_after_the_visit(
    client, visit, django_capture_on_commit_callbacks
):
    as_user(client, visit.doctor.user)
    panel = client.get("/console/panel/").content.decode()
    assert f'href="{page_url(visit)}">Write the prescription</a>' in panel
    with django_capture_on_commit_callbacks(execute=True):
        visits.end_consultation(visit.doctor, visit)
    panel = client.get("/console/panel/").content.decode()
    assert 'data-testid="finished-today"' in panel
    assert f'href="{page_url(visit)}">Write the prescription' in panel
