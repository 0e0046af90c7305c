"""Right now, for the live panel: the figures read from the live queue (``live_now``) and the
frame a dashboard socket (and the API) sends. How a socket hears of changes: ``events``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count as CountOf
from django.db.models import Min, Q
from django.utils import timezone

from core.clock import india_now
from dashboards.selectors import Scope
from queues.models import DutyShift, Opd, Ticket


@dataclass(frozen=True)
class OpdLive:
    opd_key: str  # public id
    name: str
    waiting: int
    doctors_on_duty: int
    in_consultation: int
    longest_wait_seconds: int | None


@dataclass(frozen=True)
class LiveNow:
    opds: list[OpdLive]
    waiting: int
    doctors_on_duty: int
    in_consultation: int
    longest_wait_seconds: int | None


# Not yet with a doctor: in the waiting room, or being offered or called.
WAITING = (Ticket.Status.WAITING, Ticket.Status.OFFERED, Ticket.Status.CALLED)


def live_now(scope: Scope, *, now: datetime | None = None) -> LiveNow:
    """Right now, from the live queue (only active tickets and open shifts are read).

    ``waiting`` counts patients not yet with a doctor (waiting, offered, called). A state sees
    its own OPDs, and national OPDs where its residents are waiting or being seen."""
    now = now or timezone.now()
    active = Ticket.objects.filter(status__in=Ticket.ACTIVE)
    opds = Opd.objects.filter(is_active=True)
    if scope.state is not None:
        active = active.filter(
            Q(opd__state=scope.state) | Q(opd__state=None, patient__state=scope.state)
        )
        opds = opds.filter(state=scope.state)
    counts: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"waiting": 0, "in_consultation": 0, "oldest": None}
    )
    for row in active.values("opd_id", "status").annotate(n=CountOf("id"), oldest=Min("booked_at")):
        opd_counts = counts[row["opd_id"]]
        if row["status"] in WAITING:
            opd_counts["waiting"] += row["n"]
            if opd_counts["oldest"] is None or row["oldest"] < opd_counts["oldest"]:
                opd_counts["oldest"] = row["oldest"]
        elif row["status"] == Ticket.Status.IN_CONSULTATION:
            opd_counts["in_consultation"] += row["n"]
    shown = {opd.pk: opd for opd in opds}
    shown.update(Opd.objects.in_bulk([pk for pk in counts if pk not in shown]))
    on_duty: dict[int, set[int]] = defaultdict(set)
    for opd_id, doctor_id in DutyShift.objects.filter(
        ended_at=None, opd_id__in=list(shown)
    ).values_list("opd_id", "doctor_id"):
        on_duty[opd_id].add(doctor_id)

    live = []
    for opd in sorted(shown.values(), key=lambda o: (o.display_name, str(o.public_id))):
        c = counts.get(opd.pk, {"waiting": 0, "in_consultation": 0, "oldest": None})
        live.append(
            OpdLive(
                opd_key=str(opd.public_id),
                name=opd.display_name,
                waiting=c["waiting"],
                doctors_on_duty=len(on_duty[opd.pk]),
                in_consultation=c["in_consultation"],
                longest_wait_seconds=_seconds_since(c["oldest"], now),
            )
        )
    waits = [o.longest_wait_seconds for o in live if o.longest_wait_seconds is not None]
    return LiveNow(
        opds=live,
        waiting=sum(o.waiting for o in live),
        doctors_on_duty=len(set().union(*on_duty.values())) if on_duty else 0,
        in_consultation=sum(o.in_consultation for o in live),
        longest_wait_seconds=max(waits) if waits else None,
    )


def _seconds_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(int((now - moment).total_seconds()), 0)


def live_payload(live: LiveNow) -> dict[str, Any]:
    return {
        "type": "live",
        "at": india_now().isoformat(timespec="seconds"),
        "waiting": live.waiting,
        "doctors_on_duty": live.doctors_on_duty,
        "in_consultation": live.in_consultation,
        "longest_wait_seconds": live.longest_wait_seconds,
        "opds": [
            {
                "id": opd.opd_key,
                "name": opd.name,
                "waiting": opd.waiting,
                "doctors_on_duty": opd.doctors_on_duty,
                "in_consultation": opd.in_consultation,
                "longest_wait_seconds": opd.longest_wait_seconds,
            }
            for opd in live.opds
        ],
    }
