"""How a live dashboard hears that its figures changed: the waiting room announces every change
to an OPD (``queues.signals.opd_changed``, connected in ``dashboards.apps``), and this module
nudges the channel-layer groups of the dashboards that show that OPD, after commit.

Groups (``dashboards.consumers`` joins them):
- ``dashboard.live.<state code>``: a state's dashboards, for the OPDs of that state;
- ``dashboard.live.national-opds``: every state's dashboards, for the national OPDs (whose
  patients come from every state);
- ``dashboard.live.all``: the national dashboard, for every OPD.
Each panel reads its figures again on ``{"type": "dashboard.changed"}``, at most once a second.
"""

from __future__ import annotations

from typing import Any

from dashboards.selectors import Scope
from queues import broadcast
from queues.models import Opd

DASHBOARD_ALL = "dashboard.live.all"
DASHBOARD_NATIONAL_OPDS = "dashboard.live.national-opds"
DISPATCH_UID = "dashboards.events.opd_changed"


def dashboard_group(state_code: str) -> str:
    return f"dashboard.live.{state_code}"


def groups_for(scope: Scope) -> list[str]:
    """A state's dashboard hears of its own OPDs and of the national OPDs (whose patients come
    from every state); the national dashboard hears of every OPD."""
    if scope.state is None:
        return [DASHBOARD_ALL]
    return [dashboard_group(scope.state.code), DASHBOARD_NATIONAL_OPDS]


_opd_state_codes: dict[int, str | None] = {}


def _opd_state_code(opd_id: int) -> str | None:
    """An OPD's state does not change: read once per process."""
    if opd_id not in _opd_state_codes:
        _opd_state_codes[opd_id] = (
            Opd.objects.filter(pk=opd_id).values_list("state__code", flat=True).first()
        )
    return _opd_state_codes[opd_id]


def nudge_live_dashboards(sender: Any, *, opd_id: int, **kwargs: Any) -> None:
    """The live dashboards that show this OPD should read their figures again (after commit,
    and with the claim's other messages when it sends them together)."""
    code = _opd_state_code(opd_id)
    message = {"type": "dashboard.changed"}
    broadcast.after_commit_once(
        [
            (dashboard_group(code) if code else DASHBOARD_NATIONAL_OPDS, message),
            (DASHBOARD_ALL, message),
        ]
    )
