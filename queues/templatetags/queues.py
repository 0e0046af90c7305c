"""Waiting-room pieces that other apps' pages show: a family's tokens on its family page
(``patients`` sits below queues and does not look into it; its page includes this piece).
Every tag reads through ``queues.selectors``; none writes."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from queues.selectors import open_tickets_for_account

register = template.Library()


@register.inclusion_tag("queues/family_tokens.html")
def family_tokens(account: User) -> dict[str, Any]:
    """The family's tokens still in the waiting room or with a doctor, oldest first."""
    return {"tickets": open_tickets_for_account(account)}
