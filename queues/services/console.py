"""The doctor's console: one door for its actions, whichever way they arrive.

The page (a form POST), the API (one endpoint per action) and the socket (one frame per
action) each read their own input and show the outcome their own way; what an action does,
and which public ids it accepts, is decided here once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from django.utils.translation import gettext as _

from core.errors import Invalid
from providers.models import Doctor
from queues import selectors
from queues.models import Ticket
from queues.services import duty, visits


class Action(StrEnum):
    DUTY = "duty"  # on duty for the given OPDs; none given: off duty
    OFF_DUTY = "off_duty"
    RESUME = "resume"
    ACCEPT = "accept"
    SKIP = "skip"
    END = "end"


ACTIONS = frozenset(action.value for action in Action)


@dataclass(frozen=True)
class Outcome:
    """What the action did: the doctor's patient it moved, if it was about one."""

    action: Action
    ticket: Ticket | None = None


def perform(
    doctor: Doctor,
    action: Action | str,
    *,
    opd_ids: Collection[UUID | str] = (),
    ticket_id: str = "",
    reason: str = "",
    note: str = "",
) -> Outcome:
    """Do ``action`` for ``doctor``; a refusal is a ``ServiceError`` (``core.errors``).

    ``opd_ids`` (for ``duty``) and ``ticket_id`` are public ids. An OPD id that names no OPD
    is refused like an OPD outside the doctor's reach (``opd_not_allowed``); a ticket that is
    not the doctor's is not found.
    """
    action = Action(action)
    if action == Action.DUTY and opd_ids:
        duty.go_on_duty(doctor, _opd_pks(opd_ids))
    elif action in (Action.DUTY, Action.OFF_DUTY):
        duty.go_off_duty(doctor)
    elif action == Action.RESUME:
        duty.resume(doctor)
    else:
        return Outcome(action, _ticket_action(doctor, action, ticket_id, reason, note))
    return Outcome(action)


def _ticket_action(
    doctor: Doctor, action: Action, ticket_id: str, reason: str, note: str
) -> Ticket | None:
    ticket = selectors.ticket_for_doctor(doctor, ticket_id)
    if action == Action.ACCEPT:
        return visits.accept_offer(doctor, ticket)
    if action == Action.END:
        return visits.end_consultation(doctor, ticket)
    if reason not in visits.SKIP_REASONS:
        raise Invalid(_("Choose a reason for skipping."), code="invalid")
    visits.skip_offer(doctor, ticket, reason=reason, note=note)
    return None


def _opd_pks(opd_ids: Collection[UUID | str]) -> list[int]:
    pks = selectors.opd_pks_named(opd_ids)
    if pks is None:
        raise duty.opds_not_allowed()
    return pks
