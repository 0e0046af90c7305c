"""Telling the waiting rooms and doctor consoles that something changed.

Nothing here is the truth: PostgreSQL is. Messages go out only after the transaction that made
the change commits, so a page never hears of a change that was rolled back.

Groups:
- ``opd.<id>``: one member per web process (its waiting-room hub, see ``queues.hub``). Queue
  changes are keys of tickets that joined or left (``[priority, seq]``) with the OPD's revision
  of each change (``OpdRevision``), from which every page works out its own position; messages
  for one ticket carry its key and the hub hands them to that ticket's sockets only.
- ``console.opd.<id>``: doctor consoles on duty for the OPD (few): "the queue changed".
- ``console.doctor.<id>``: one doctor's consoles: offers and what happened to them.

Apps above queues hear of every change to an OPD's queue or tickets through the
``queues.signals.opd_changed`` signal, sent in the same place, and publish to their own groups
with ``after_commit_once`` (the dashboards' live panels do).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction

from core import publish
from queues.models import Opd, OpdRevision, Ticket
from queues.selectors import doctors_on_duty
from queues.signals import opd_changed


def opd_group(opd_id: int) -> str:
    return f"opd.{opd_id}"


def console_opd_group(opd_id: int) -> str:
    return f"console.opd.{opd_id}"


def console_doctor_group(doctor_id: int) -> str:
    return f"console.doctor.{doctor_id}"


def call_group(ticket_id: int) -> str:
    """The video call room of one ticket (see video.consumers)."""
    return f"call.{ticket_id}"


_together: ContextVar[list[publish.Message] | None] = ContextVar("together", default=None)


def _send(group: str, message: dict[str, Any]) -> None:
    publish.group_send(group, message)


def after_commit(group: str, message: dict[str, Any]) -> None:
    pending = _together.get()
    if pending is not None:
        pending.append((group, message))
    else:
        transaction.on_commit(lambda: _send(group, message), robust=True)


@contextmanager
def together() -> Iterator[None]:
    """Messages announced inside go out together after commit (one Redis round trip)."""
    pending: list[publish.Message] = []
    token = _together.set(pending)
    try:
        yield
    finally:
        _together.reset(token)
        if pending:
            transaction.on_commit(lambda: publish.group_send_many(pending), robust=True)


def after_commit_once(messages: list[publish.Message]) -> None:
    """Messages sent together after commit; inside ``together``, one equal to a message already
    waiting there is not repeated (a nudge per group is enough, however many tickets the
    operation touched)."""
    pending = _together.get()
    if pending is not None:
        pending.extend(m for m in messages if m not in pending)
    else:
        transaction.on_commit(lambda: publish.group_send_many(messages), robust=True)


def _opd_changed(opd_id: int) -> None:
    """Whoever subscribed (``queues.signals``) hears that this OPD changed."""
    opd_changed.send(sender=Opd, opd_id=opd_id)


def queue_changed(
    opd_id: int,
    *,
    joined: Sequence[tuple[int, int]] = (),
    left: Sequence[tuple[int, int]] = (),
    revision: int | None = None,
) -> None:
    """Tickets joined or left the OPD's waiting line (by key), in the caller's transaction.

    Each change takes the OPD's next revision now, in that transaction, unless the caller took
    them already (``revision``: the last one taken), so that pages can tell which changes a
    snapshot already contains. With no change, only the consoles and subscribers are nudged.
    """
    changes: list[list[Any]] = [["+", p, s] for p, s in joined] + [["-", p, s] for p, s in left]
    if changes:
        last = revision if revision is not None else OpdRevision.advance(opd_id, len(changes))
        for offset, change in enumerate(changes, start=last - len(changes) + 1):
            change.append(offset)
        after_commit(opd_group(opd_id), {"type": "queue.delta", "opd": opd_id, "changes": changes})
    after_commit(console_opd_group(opd_id), {"type": "queue.changed", "opd": opd_id})
    _opd_changed(opd_id)


def ticket_changed(ticket: Ticket, payload: dict[str, Any]) -> None:
    """A message for one ticket's waiting-room pages, wherever they are connected. It travels
    by the OPD's group and each hub hands it to that ticket's own sockets (by internal id, which
    never reaches a page)."""
    after_commit(
        opd_group(ticket.opd_id),
        {"type": "ticket.update", "opd": ticket.opd_id, "ticket": ticket.pk, "payload": payload},
    )
    _opd_changed(ticket.opd_id)


def doctors_changed(opd_id: int) -> None:
    """Doctors came on or went off duty: every waiting page shows the new count."""

    def send() -> None:
        _send(
            opd_group(opd_id),
            {"type": "opd.stats", "opd": opd_id, "doctors_on_duty": doctors_on_duty(opd_id)},
        )

    transaction.on_commit(send, robust=True)


def doctor_event(doctor_id: int, payload: dict[str, Any]) -> None:
    after_commit(console_doctor_group(doctor_id), {"type": "doctor.event", "payload": payload})


def call_closed(ticket_id: int, status: str) -> None:
    """The ticket left the states in which its call room is open: close the room."""
    after_commit(call_group(ticket_id), {"type": "call.closed", "status": status})
