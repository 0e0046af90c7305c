"""Who may enter which call room."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils.translation import gettext

from accounts.models import User
from core.errors import NotFound
from core.ids import parse_uuid
from providers.selectors import doctor_of
from queues.models import Ticket
from video.models import Side

OPEN_STATUSES = (Ticket.Status.CALLED, Ticket.Status.IN_CONSULTATION)


@dataclass(frozen=True)
class CallAccess:
    ticket: Ticket
    side: str

    @property
    def is_open(self) -> bool:
        return self.ticket.status in OPEN_STATUSES


def call_access(user: User, room: uuid.UUID | str) -> CallAccess:
    """The caller's side of the call, or 404: only the patient's family account and the
    doctor the ticket is assigned to are participants; everyone else sees nothing."""
    parsed = parse_uuid(room)
    if parsed is None or not user.is_authenticated:
        raise NotFound(gettext("No such call."))
    ticket = (
        Ticket.objects.select_related("opd", "patient", "doctor__user", "language")
        .prefetch_related("attachments")
        .filter(public_id=parsed)
        .first()
    )
    if ticket is not None:
        if user.is_patient and ticket.patient.account_id == user.pk:
            return CallAccess(ticket, Side.PATIENT)
        doctor = doctor_of(user)
        if doctor is not None and ticket.doctor_id == doctor.pk:
            return CallAccess(ticket, Side.DOCTOR)
    raise NotFound(gettext("No such call."))
