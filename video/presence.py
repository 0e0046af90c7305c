"""Which socket holds each side of a call room, in the shared cache (Redis across processes).

One socket per side. A page that reloads keeps its client id (kept in the tab's session
storage) and takes its side over from its old socket at once; a different device or tab is
refused while the side is held by a live socket (heartbeats every few seconds keep it alive)
and may take it once the holder has been silent for ``TTL_SECONDS``. A socket that finds
another holder on its side has lost it: it relays nothing more and is closed.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

TTL_SECONDS = 20
SIDES = ("patient", "doctor")

Holder = dict[str, Any]


def _key(ticket_id: int, side: str) -> str:
    return f"call:{ticket_id}:{side}"


def holder(ticket_id: int, side: str) -> Holder | None:
    value = cache.get(_key(ticket_id, side))
    return value if isinstance(value, dict) else None


def holders(ticket_id: int) -> dict[str, Holder]:
    """Both sides' holders in one round trip: ``{side: holder}`` for the sides held."""
    keys = {_key(ticket_id, side): side for side in SIDES}
    found = cache.get_many(list(keys))
    return {keys[key]: value for key, value in found.items() if isinstance(value, dict)}


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


def keep_side(ticket_id: int, side: str, *, channel: str, client: str, join: str) -> Holder | None:
    """Keep holding the side: None while this socket holds it (taken again if it lapsed while
    the socket was quiet and nobody took it), else the socket that holds it now."""
    key = _key(ticket_id, side)
    current = holder(ticket_id, side)
    if current is None:
        entry = {"channel": channel, "client": client, "join": join}
        if cache.add(key, entry, timeout=TTL_SECONDS):
            return None
        current = holder(ticket_id, side)
        if current is None:  # lapsed again at once: nobody else holds it
            return None
    if current.get("channel") == channel:
        cache.touch(key, TTL_SECONDS)
        return None
    return current


def release(ticket_id: int, side: str, *, channel: str) -> bool:
    """Give the side up; True when this socket held it (then its leaving is news)."""
    current = holder(ticket_id, side)
    if current is not None and current.get("channel") == channel:
        cache.delete(_key(ticket_id, side))
        return True
    return False
