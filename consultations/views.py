"""Consultation pages: the doctor's prescription form and the family's history.

The form page works without JavaScript: it posts here, and the draft is checked by the API's
``PrescriptionSerializer`` and saved, signed or corrected by the same services the API calls.
With JavaScript, static/js/prescription.js saves over the API as the doctor types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.decorators import patient_page
from accounts.models import User
from audit.models import AccessEvent
from audit.selectors import looks_at_family
from audit.services import record_access
from consultations import forms, selectors, services
from consultations.api import PrescriptionSerializer
from consultations.history_sections import render_sections
from consultations.models import Consultation, Prescription
from core.api.errors import flatten_errors
from core.errors import ServiceError
from patients.models import Patient
from patients.selectors import family_for
from providers.decorators import doctor_page
from providers.models import Doctor
from queues import selectors as tickets


@never_cache  # patient data, and a draft that changes as the doctor types
@doctor_page
@require_http_methods(["GET", "POST"])
def consultation_page(request: HttpRequest, doctor: Doctor, ticket_id: str) -> HttpResponse:
    consultation = selectors.consultation_for_doctor(doctor, ticket_id)
    if request.method == "POST":
        return _post_prescription(request, doctor, consultation)
    # The record, with the patient's earlier prescriptions (also on the call page's panel).
    record_access(
        request,
        AccessEvent.Action.CONSULTATION,
        consultation.patient,
        subject=consultation.public_id,
    )
    if request.GET.get("panel") == "call":  # the call page loads the form once the patient joins
        context = {**forms.form_context(consultation), "in_call": True}
        return render(request, "consultations/prescription_form.html", context)
    return render(request, "consultations/consultation.html", forms.form_context(consultation))


def _post_prescription(
    request: HttpRequest, doctor: Doctor, consultation: Consultation
) -> HttpResponse:
    """Save the posted draft, and sign it or start a correction when asked to."""
    action = request.POST.get("action", "save")
    values = forms.posted(request.POST) if action != "correct" else {}
    try:
        if action == "correct":
            services.start_correction(selectors.current_prescription(consultation), doctor=doctor)
            messages.info(request, _("Correction started. Change what is wrong, then sign again."))
        else:
            serializer = PrescriptionSerializer(data=values)
            if not serializer.is_valid():
                return _refused(request, consultation, values, flatten_errors(serializer.errors))
            data = dict(serializer.validated_data)
            medicines = data.pop("medicines", [])
            draft = services.draft_for(consultation)
            draft = services.save_draft(draft, data=data, medicines=medicines)
            if action == "finalise":
                final = services.finalise(draft, doctor=doctor)
                messages.success(request, _signed_message(final))
            else:
                messages.success(request, _("Draft saved."))
    except ServiceError as error:
        return _refused(
            request, consultation, values, error.fields, error.message, status=error.status
        )
    return redirect("consultations:consultation", ticket_id=consultation.ticket.public_id)


def _refused(
    request: HttpRequest,
    consultation: Consultation,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    message: str = "",
    *,
    status: int = 400,
) -> HttpResponse:
    context = forms.form_context(
        consultation,
        values=values,
        errors=errors,
        message=message or _("Not saved: some of the information is not valid."),
    )
    if not context["editable"]:  # signed meanwhile: show what was signed, not the refused post
        context = forms.form_context(consultation, message=message)
    return render(request, "consultations/consultation.html", context, status=status)


def _signed_message(prescription: Prescription) -> str:
    return _("Prescription %(number)s is signed and on its way to the patient.") % {
        "number": prescription.display_number
    }


# --- The family's history ----------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    consultation: Consultation
    prescriptions: list[Prescription]  # signed versions only, newest first


@dataclass
class MemberHistory:
    patient: Patient
    visits: list[Visit]


@never_cache
@patient_page
def history_page(request: HttpRequest, account: User) -> HttpResponse:
    looks = looks_at_family(account)  # read before this visit adds its own
    members = {member.pk: MemberHistory(member, []) for member in family_for(account)}
    for consultation in selectors.history_for(account):
        signed = sorted(
            (p for p in consultation.prescriptions.all() if not p.is_draft),
            key=lambda p: -p.version,
        )
        # A member removed from the family keeps their records here.
        member = members.setdefault(
            consultation.patient_id, MemberHistory(consultation.patient, [])
        )
        member.visits.append(Visit(consultation, signed))
    shown = [member.patient for member in members.values() if member.visits]
    record_access(request, AccessEvent.Action.HISTORY, shown)
    family = [member.patient for member in members.values()]
    context = {
        "members": list(members.values()),
        "looks": looks,
        "sections": render_sections(request, account, family),
    }
    return render(request, "consultations/history.html", context)


@never_cache
@patient_page
def visit_outcome_panel(request: HttpRequest, account: User, ticket_id: str) -> HttpResponse:
    """What the family gets after a visit, alone: static/js/visit-outcome.js asks for it until
    the prescription is signed. Another family's ticket is not found."""
    ticket = tickets.ticket_for_account(account, ticket_id)
    return render(
        request,
        "consultations/visit_outcome.html",
        {"outcome": selectors.visit_outcome(ticket), "hidden": False},
    )
