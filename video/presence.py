"""Which socket holds each side of a call room, in the shared cache (Redis across processes).

One socket per side. A page that reloads keeps its client id (kept in the tab's session
storage) and takes its side over from its old socket at once; a different device or tab is
refused while the side is held by a live socket (heartbeats every few seconds keep it alive).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

TTL_SECONDS = 20


def _key(ticket_id: int, side: str) -> str:
    return f"call:{ticket_id}:{side}"


def holder(ticket_id: int, side: str) -> dict[str, Any] | None:
    value = cache.get(_key(ticket_id, side))
    return value if isinstance(value, dict) else None


def take_side(
    ticket_id: int, side: str, *, channel: str, client: str, join: str
) -> tuple[bool, str | None]:
    """``(taken, replaced channel)``: refused when another client holds the side. ``join``
    names this joining, so the other side can tell a join it already knows of from a new one."""
    entry = {"channel": channel, "client": client, "join": join}
    if cache.add(_key(ticket_id, side), entry, timeout=TTL_SECONDS):
        return True, None
    current = holder(ticket_id, side)
    if current is None or current.get("client") == client:
        cache.set(_key(ticket_id, side), entry, timeout=TTL_SECONDS)
        replaced = current.get("channel") if current else None
        return True, replaced if replaced != channel else None
    return False, None


def refresh(ticket_id: int, side: str, *, channel: str) -> bool:
    current = holder(ticket_id, side)
    if current is None or current.get("channel") != channel:
        return False
    cache.set(_key(ticket_id, side), current, timeout=TTL_SECONDS)
    return True


def release(ticket_id: int, side: str, *, channel: str) -> None:
    current = holder(ticket_id, side)
    if current is not None and current.get("channel") == channel:
        cache.delete(_key(ticket_id, side))
