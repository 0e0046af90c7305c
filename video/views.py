"""Call and pre-call pages. The call itself runs in static/js/call.js over ``/ws/call/<room>/``
(protocol: docs/signalling.md); the page brings the room's identity, the participants' view of
the visit, and the strings the script shows, translated here in the page's language."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.models import User
from audit.models import AccessEvent
from audit.services import record_access
from queues import claims
from queues.models import Ticket
from video import services
from video.models import Side
from video.selectors import CallAccess, call_access


@never_cache  # a live call (and, for the doctor, patient data): never from a cache
@login_required
def call_page(request: HttpRequest, room: uuid.UUID) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    access = call_access(user, room)  # NotFound (404 page) for everyone but the two parties
    if not access.is_open:  # not started yet, or over: say so instead of showing a dead call
        context = {"ticket": access.ticket, "side": access.side, "open": False}
        return render(request, "video/call.html", {**context, "back_url": _back_url(access)})
    if access.side == Side.DOCTOR:  # the patient's details, shared records, earlier prescriptions
        record_access(
            request, AccessEvent.Action.CALL, access.ticket.patient, subject=access.ticket.public_id
        )
    return render(request, "video/call.html", _call_context(access))


@login_required
def precall_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "video/precall.html",
        {
            "offer_url": reverse("video:precall-offer"),
            "loopback_only": bool(settings.WEBRTC_LOOPBACK_ONLY),
            "strings": precall_strings(),
        },
    )


def _call_context(access: CallAccess) -> dict[str, Any]:
    ticket = access.ticket
    return {
        "ticket": ticket,
        "side": access.side,
        "open": True,
        "polite": access.side == Side.PATIENT,
        "ws_path": f"/ws/call/{ticket.public_id}/",
        # ICE servers come with the socket's first frame (TURN credentials are short-lived).
        "loopback_only": bool(settings.WEBRTC_LOOPBACK_ONLY),
        "back_url": _back_url(access),
        "doctor_name": ticket.doctor.name if ticket.doctor else "",
        "patient": _patient_details(ticket) if access.side == Side.DOCTOR else None,
        "chat": [
            {**frame, "at": datetime.fromisoformat(frame["sent_at"])}
            for frame in services.chat_history(access)
        ],
        "strings": call_strings(access.side),
    }


def _back_url(access: CallAccess) -> str:
    if access.side == Side.DOCTOR:
        return reverse("queues:console")
    return reverse("queues:waiting", kwargs={"ticket_id": access.ticket.public_id})


def _patient_details(ticket: Ticket) -> dict[str, Any]:
    """What the doctor sees beside the video: the console's view of the current patient."""
    patient = ticket.patient
    return {
        "token": ticket.token,
        "name": patient.name,
        "age": patient.age_years,
        "sex": patient.get_sex_display(),
        "language": ticket.language.name,
        "priority": ticket.get_priority_reason_display() if ticket.priority_reason else "",
        "priority_basis": claims.basis(ticket),
        "complaint": ticket.complaint,
        "attachments": [
            {"name": a.original_name, "url": f"/files/{a.public_id}/"}
            for a in ticket.attachments.all()
        ],
    }


def call_strings(side: str) -> dict[str, str]:
    """What call.js says. Sentences about the other party are written out for each side, so
    that each reads naturally once translated."""
    if side == Side.PATIENT:
        other = {
            "peer_name": _("Doctor"),
            "peer_waiting": _("Waiting for the doctor to join…"),
            "peer_left": _("The doctor has left the call. Please wait; they may come back."),
            "peer_muted": _("The doctor's microphone is off."),
            "peer_camera_off": _("The doctor's camera is off."),
            "peer_audio_only": _("The doctor is on audio only."),
            "peer_low_bandwidth": _("The doctor is in low-bandwidth mode."),
            "peer_connection": _("Doctor's connection: {state}"),
        }
    else:
        other = {
            "peer_name": _("Patient"),
            "peer_waiting": _("Waiting for the patient to join…"),
            "peer_left": _("The patient has left the call. They may rejoin."),
            "peer_muted": _("The patient's microphone is off."),
            "peer_camera_off": _("The patient's camera is off."),
            "peer_audio_only": _("The patient is on audio only."),
            "peer_low_bandwidth": _("The patient is in low-bandwidth mode."),
            "peer_connection": _("Patient's connection: {state}"),
        }
    return {
        **other,
        "you": _("You"),
        "state_new": _("starting"),
        "state_connecting": _("connecting"),
        "state_connected": _("connected"),
        "state_disconnected": _("interrupted, reconnecting"),
        "state_failed": _("lost, retrying"),
        "state_closed": _("closed"),
        "joining": _("Joining the call…"),
        "unsupported": _(
            "This browser cannot make video calls. Please use a recent Chrome or Firefox."
        ),
        "connecting": _("Connecting the video…"),
        "connected": _("Connected."),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "media_failed": _(
            "Your camera and microphone could not be started. Check the browser's permission."
        ),
        "camera_failed": _("Your camera could not be started, so the call is audio only."),
        "camera_restart_failed": _("The camera could not be turned on again."),
        "tap_for_sound": _("Tap to turn on the sound"),
        "quality": _("Call quality: {label}"),
        "quality_details": _("delay {rtt} ms · loss {loss}% · video {kbps} kbps"),
        "quality_good": _("good"),
        "quality_fair": _("fair"),
        "quality_poor": _("poor"),
        "quality_unknown": _("measuring…"),
        "ended_completed": _("The consultation has ended."),
        "ended_waiting": _("The call was stopped and you are back in the queue."),
        "ended_other": _("This call is closed."),
        "left": _("You left the call. The consultation goes on: you can rejoin."),
        "side_taken": _("This call is already open in another tab or device."),
        "replaced": _("This call continues in another tab."),
        "not_found": _("This call could not be found."),
        "signed_out": _("You are signed out. Sign in again to rejoin."),
        "rate_limited": _("Too many messages were sent. Reload the page to rejoin."),
        "chat_failed": _("The message could not be sent. Try again when connected."),
        "chat_rate_limited": _("Too many messages at once. Wait a moment and send it again."),
        "chat_full": _("This consultation's chat is full: no more messages can be sent."),
    }


def precall_strings() -> dict[str, str]:
    return {
        "camera_ok": _("Your camera and microphone work."),
        "camera_failed": _("Your camera could not be started; a call would be audio only."),
        "media_failed": _(
            "Your camera and microphone could not be started. Check the browser's permission."
        ),
        "testing": _("Testing your connection… this takes about 10 seconds."),
        "failed": _("The connection test could not reach the server. Check your internet."),
        "done": _("Test finished."),
        "good": _("Your connection is good enough for a video call."),
        "fair": _("Your connection is weak: a video call may freeze. Audio should work."),
        "poor": _(
            "Your connection is poor: choose audio only in the call, or move to a better signal."
        ),
        "ms": _("{value} ms"),
        "percent": _("{value}%"),
        "unknown": _("not measured"),
    }
