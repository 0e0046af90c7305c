"""The live panel: the frame a dashboard socket (and the API) sends, and the groups whose
messages tell a dashboard that its figures changed (published by ``queues.broadcast``)."""

from __future__ import annotations

from typing import Any

from core.clock import india_now
from dashboards.queries import LiveNow, Scope
from queues import broadcast


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


def groups_for(scope: Scope) -> list[str]:
    """A state's dashboard hears of its own OPDs and of the national OPDs (whose patients come
    from every state); the national dashboard hears of every OPD."""
    if scope.state is None:
        return [broadcast.DASHBOARD_ALL]
    return [broadcast.dashboard_group(scope.state.code), broadcast.DASHBOARD_NATIONAL_OPDS]
