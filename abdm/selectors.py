"""Who may see which counter's Scan & Share QR code: one scoping function for the pages."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import User
from queues.models import Opd


def counter_opds_for(user: User) -> QuerySet[Opd]:
    """A national administrator: every OPD; a state administrator: their state's; else none."""
    opds = Opd.objects.select_related("state").order_by("state__name", "name")
    if user.is_national_admin:
        return opds
    if user.is_state_admin and user.state_id is not None:
        return opds.filter(state_id=user.state_id)
    return opds.none()


def counter_opd_for(user: User, public_id: uuid.UUID) -> Opd | None:
    return counter_opds_for(user).filter(public_id=public_id).first()
