"""Call workflows: events for the dashboards, chat, hanging up."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from queues.models import Ticket
from queues.services import visits
from video.models import CallEvent, ChatMessage, Side
from video.selectors import CallAccess


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
    return ChatMessage.objects.create(
        ticket=access.ticket, side=access.side, author=author, text=text
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
