"""When an OPD is open. Hours are local times (IST) and converted explicitly; the server is UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.clock import IST
from queues.models import Opd, OpdHours


@dataclass(frozen=True)
class OpeningState:
    is_open: bool
    closes_at: datetime | None  # when open: the end of this session (UTC-aware)
    next_opening: datetime | None  # when closed: the next session's start within a week


def zone_of(opd: Opd) -> ZoneInfo:
    """Every state and UT keeps Indian Standard Time; one place to change if that ever differs."""
    return IST


def opening_state(opd: Opd, now: datetime, hours: list[OpdHours] | None = None) -> OpeningState:
    """Open when a session of today's weekday has ``opens_at <= now < closes_at`` in local time.
    The claim's SQL (``queues/services/dispatch.py``) repeats this rule; keep them together
    (``tests/queues/test_dispatch_agrees_with_policy.py``)."""
    zone = zone_of(opd)
    local = now.astimezone(zone)
    sessions = hours if hours is not None else list(opd.hours.all())
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for session in sorted(
            (s for s in sessions if s.weekday == day.weekday()), key=lambda s: s.opens_at
        ):
            start = datetime.combine(day, session.opens_at, tzinfo=zone)
            end = datetime.combine(day, session.closes_at, tzinfo=zone)
            if start <= local < end:
                return OpeningState(is_open=True, closes_at=end, next_opening=None)
            if local < start:
                return OpeningState(is_open=False, closes_at=None, next_opening=start)
    return OpeningState(is_open=False, closes_at=None, next_opening=None)


def opens_later_today(state: OpeningState, now: datetime) -> bool:
    if state.is_open or state.next_opening is None:
        return False
    return state.next_opening.astimezone(IST).date() == now.astimezone(IST).date()
