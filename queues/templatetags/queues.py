"""Waiting-room pieces that other apps' pages show: a family's tokens on its family page
(``patients`` sits below queues and does not look into it; its page includes this piece)."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from queues.models import Ticket
from queues.selectors import tickets_for_account

register = template.Library()


@register.inclusion_tag("queues/family_tokens.html")
def family_tokens(account: User) -> dict[str, Any]:
    """The family's tokens still in the waiting room or with a doctor, oldest first."""
    tickets = (
        tickets_for_account(account)
        .filter(status__in=Ticket.ACTIVE)
        .select_related("opd", "patient")
        .order_by("booked_at")
    )
    return {"tickets": tickets}
