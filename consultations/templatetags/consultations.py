"""Consultation pieces that other apps' pages show: the prescription form beside the video, the
doctor's finished consultations of today on the console, and what the family gets once a visit
is over."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from consultations import forms, selectors
from core.errors import NotFound
from providers.selectors import doctor_of
from queues.models import Ticket

register = template.Library()


def _doctor(context: template.Context) -> Any:
    request: HttpRequest | None = context.get("request")
    user = getattr(request, "user", None)
    return doctor_of(user) if isinstance(user, User) else None


@register.inclusion_tag("consultations/prescription_form.html", takes_context=True)
def prescription_form(context: template.Context, ticket: Ticket) -> dict[str, Any]:
    """The form for the call page's doctor. Until the patient joins, the consultation does not
    exist yet: the panel says so and prescription.js loads the form once it does."""
    shared = {"request": context.get("request"), "csrf_token": context.get("csrf_token")}
    doctor = _doctor(context)
    if doctor is None:
        return {**shared, "absent": True}
    try:
        consultation = selectors.consultation_for_doctor(doctor, ticket.public_id)
        form = forms.form_context(consultation)
    except NotFound:
        return {**shared, "pending": True, "ticket": ticket, "strings": forms.script_strings()}
    return {**shared, **form, "in_call": True}


@register.simple_tag(takes_context=True)
def finished_today(context: template.Context) -> QuerySet[Ticket]:
    """The doctor's consultations that ended today (``selectors.finished_today``)."""
    doctor = _doctor(context)
    if doctor is None:
        return Ticket.objects.none()
    return selectors.finished_today(doctor)


@register.inclusion_tag("consultations/visit_outcome.html")
def visit_outcome(ticket: Ticket, hidden: bool = False) -> dict[str, Any]:
    """After the visit, for the family: ``ticket`` is already scoped to its family account.
    ``hidden`` until the page's script sees the visit end."""
    return {"outcome": selectors.visit_outcome(ticket), "hidden": hidden}
