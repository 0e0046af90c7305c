"""Pages: booking, the waiting room, the doctor's console, and shared records."""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import patient_page
from accounts.forms import add_service_error
from accounts.models import User
from audit.models import AccessEvent
from audit.services import record_access
from core.errors import ServiceError
from patients.selectors import family_for, family_member_for
from providers.decorators import doctor_page
from providers.models import Doctor
from queues import selectors
from queues.api import refuse_oversized_upload
from queues.forms import BookingForm
from queues.hours import opening_state
from queues.models import PresenceLease
from queues.services import console as console_actions
from queues.services import duty, visits
from queues.services.booking import book


@patient_page
def choose_member(request: HttpRequest, account: User) -> HttpResponse:
    members = list(family_for(account))
    if len(members) == 1:
        return redirect("queues:book", member_id=members[0].public_id)
    return render(request, "queues/choose_member.html", {"members": members})


@patient_page
@require_http_methods(["GET", "POST"])
def book_consultation(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    if request.method == "POST":
        refuse_oversized_upload(request)
    now = timezone.now()
    # Open OPDs first, then those opening later today, then the rest.
    opds = sorted(
        selectors.opds_for_patient(member),
        key=lambda opd: (not opening_state(opd, now).is_open, opd.display_name),
    )
    form = BookingForm(request.POST or None, request.FILES or None, opds=opds, member=member)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = book(
                account=account,
                patient=member,
                opd=data["opd"],
                complaint=data["complaint"].strip(),
                priority_reason=data["priority_reason"],
                uploads=data["documents"],
            )
        except ServiceError as error:
            add_service_error(form, error)
            existing = error.extra.get("ticket")
            if existing:
                return redirect("queues:waiting", ticket_id=existing)
        else:
            messages.success(
                request,
                _("Your token is %(token)s. Keep this page open.") % {"token": ticket.token},
            )
            return redirect("queues:waiting", ticket_id=ticket.public_id)
    return render(request, "queues/book.html", {"form": form, "member": member})


@patient_page
def waiting_room(request: HttpRequest, account: User, ticket_id: str) -> HttpResponse:
    ticket = selectors.ticket_for_account(account, ticket_id)
    if ticket.is_active:
        visits.hold_presence(ticket, PresenceLease.POLL)
    snapshot = selectors.snapshot(ticket)
    return render(
        request,
        "queues/waiting.html",
        {
            "ticket": ticket,
            "snapshot": snapshot,
            "eta": eta_phrase(snapshot["estimated_wait_seconds"]),
            "strings": waiting_room_strings(),
        },
    )


def eta_phrase(seconds: int | None) -> str:
    """The estimated wait in words. waiting.js words its live updates by the same rule, with the
    same catalogue entries (the djangojs domain); keep the two in step."""
    if seconds is None:
        return _("when a doctor comes on duty")
    if seconds < 60:
        return _("less than a minute")
    minutes = math.ceil(seconds / 60)
    return ngettext("about %(minutes)s minute", "about %(minutes)s minutes", minutes) % {
        "minutes": minutes
    }


def waiting_room_strings() -> dict[str, str]:
    """What waiting.js says, translated here (the page's language)."""
    return {
        "waiting": _(
            "You are in the queue. Keep this page open; we will alert you when the doctor is ready."
        ),
        "offered": _("A doctor is about to call you. Stay on this page."),
        "called": _("The doctor is ready. Press CALL NOW."),
        "in_consultation": _("You are in the consultation."),
        "completed": _("Your consultation has ended."),
        "no_show": _(
            "The call was not answered in time, so this token has closed. Please book again."
        ),
        "left": _(
            "You were away from the waiting room too long, so this token has closed. "
            "Please book again."
        ),
        "cancelled": _("This token is closed."),
        "call_missed": _(
            "You missed the call. You are back at the front of the queue: stay on this page."
        ),
        "live": _("Live updates are on."),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "polling": _("Live updates are unavailable; checking every few seconds."),
        "alerts_on": _("Sound and notifications are on."),
        "notify_title": _("The doctor is ready"),
        "notify_body": _("Open eSanjeevani and press CALL NOW."),
    }


@patient_page
@require_POST
def answer(request: HttpRequest, account: User, ticket_id: str) -> HttpResponse:
    ticket = selectors.ticket_for_account(account, ticket_id)
    try:
        visits.answer_call(account, ticket)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("queues:waiting", ticket_id=ticket.public_id)


@patient_page
@require_POST
def cancel(request: HttpRequest, account: User, ticket_id: str) -> HttpResponse:
    ticket = selectors.ticket_for_account(account, ticket_id)
    try:
        visits.cancel_ticket(account, ticket)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, _("Token %(token)s was cancelled.") % {"token": ticket.token})
    return redirect("patients:family")


# --- Doctor console -----------------------------------------------------------------------


@doctor_page
@require_http_methods(["GET", "POST"])
def console(request: HttpRequest, doctor: Doctor) -> HttpResponse:
    if request.method == "POST":
        try:
            _console_post(request, doctor)
        except ServiceError as error:
            messages.error(request, error.message)
        return redirect("queues:console")
    duty.heartbeat(doctor)
    return render(request, "queues/console.html", _console_context(doctor))


@doctor_page
def console_panel(request: HttpRequest, doctor: Doctor) -> HttpResponse:
    """The console's live part, re-rendered when the socket says something changed."""
    return render(request, "queues/console_panel.html", _console_context(doctor))


def _console_context(doctor: Doctor) -> dict[str, object]:
    return {
        "summary": selectors.console_summary(doctor),
        "skip_reasons": list(visits.SKIP_REASONS.items()),
        "strings": {
            "live": _("Live updates are on."),
            "reconnecting": _("Connection lost. Reconnecting…"),
            "offer_title": _("New patient"),
            "offer_body": _("A patient has been offered to you."),
            "alerts_on": _("Sound and notifications are on."),
        },
    }


def _console_post(request: HttpRequest, doctor: Doctor) -> None:
    action = request.POST.get("action", "")
    if action not in console_actions.ACTIONS:
        return  # nothing to do: the page shows the console again
    console_actions.perform(
        doctor,
        action,
        opd_ids=request.POST.getlist("opds"),
        ticket_id=request.POST.get("ticket", ""),
        reason=request.POST.get("reason", ""),
        note=request.POST.get("note", ""),
    )


@login_required
def attachment(request: HttpRequest, attachment_id: str) -> FileResponse:
    """A shared record, for those ``selectors.attachments_for`` lets see it."""
    user = request.user
    assert isinstance(user, User)
    found = selectors.attachment_for(user, attachment_id)
    record_access(
        request, AccessEvent.Action.ATTACHMENT, found.ticket.patient, subject=found.public_id
    )
    response = FileResponse(
        found.file.open("rb"),
        as_attachment=True,
        filename=found.original_name,
        content_type=found.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response
