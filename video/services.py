"""Call workflows: events for the dashboards, chat, hanging up."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import Conflict, TooManyRequests
from queues.models import Ticket
from queues.services import visits
from video.models import CallEvent, ChatMessage, Side
from video.selectors import CallAccess

# A person types a few messages a minute; a page sending more is broken or abusive.
CHAT_PER_MINUTE = 20
CHAT_PER_CONSULTATION = 1_000


def record(ticket: Ticket, kind: str, side: str, **detail: Any) -> CallEvent:
    return CallEvent.objects.create(ticket=ticket, kind=kind, side=side, detail=detail)


def media_connected(access: CallAccess) -> CallEvent:
    """First connection of a side is 'connected', later ones 'reconnected'."""
    earlier = CallEvent.objects.filter(
        ticket=access.ticket, side=access.side, kind=CallEvent.Kind.CONNECTED
    ).exists()
    kind = CallEvent.Kind.RECONNECTED if earlier else CallEvent.Kind.CONNECTED
    return record(access.ticket, kind, access.side)


def post_chat(access: CallAccess, author: User, text: str) -> ChatMessage:
    """Store a chat message, within what a person can type: at most ``CHAT_PER_MINUTE`` a
    minute for each side and ``CHAT_PER_CONSULTATION`` in all. Over that the message is
    refused, neither stored nor relayed: what the doctor reads is what the record keeps."""
    now = timezone.now()
    recent = ChatMessage.objects.filter(
        ticket=access.ticket, side=access.side, sent_at__gt=now - timedelta(minutes=1)
    )
    if recent.count() >= CHAT_PER_MINUTE:
        oldest = recent.order_by("sent_at").values_list("sent_at", flat=True).first() or now
        wait = math.ceil((oldest + timedelta(minutes=1) - now).total_seconds())
        raise TooManyRequests(
            _("Too many messages at once. Wait a moment and send it again."),
            retry_after=max(1, wait),
            code="chat_rate_limited",
        )
    if ChatMessage.objects.filter(ticket=access.ticket).count() >= CHAT_PER_CONSULTATION:
        raise Conflict(
            _("This consultation's chat is full: no more messages can be sent."), code="chat_full"
        )
    return ChatMessage.objects.create(
        ticket=access.ticket, side=access.side, author=author, text=text, sent_at=now
    )


def chat_history(access: CallAccess, limit: int = 50) -> list[dict[str, str]]:
    messages = list(ChatMessage.objects.filter(ticket=access.ticket).order_by("-sent_at")[:limit])
    return [chat_frame(m) for m in reversed(messages)]


def chat_frame(message: ChatMessage) -> dict[str, str]:
    return {
        "id": str(message.public_id),
        "side": message.side,
        "text": message.text,
        "sent_at": message.sent_at.isoformat(),
    }


def hang_up(access: CallAccess, user: User) -> bool:
    """The doctor's hang-up ends the consultation (and the room); the patient's only leaves."""
    if access.side != Side.DOCTOR:
        return False
    doctor = access.ticket.doctor
    assert doctor is not None
    with transaction.atomic():
        ticket = visits.end_consultation(doctor, access.ticket)
        started = ticket.consult_started_at or ticket.status_changed_at
        record(
            ticket,
            CallEvent.Kind.ENDED,
            access.side,
            duration_s=round((timezone.now() - started).total_seconds()),
        )
    return True
