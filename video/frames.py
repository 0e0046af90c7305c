"""What a call socket accepts from a page, checked field by field (docs/signalling.md).

Limits: a frame of at most ``MAX_FRAME`` characters (over it: ``too_large``, counted as an
unreadable frame), an SDP of at most ``MAX_SDP`` (over it: ``too_large``), a candidate of at
most ``MAX_CANDIDATE``, a chat message of 1 to ``MAX_CHAT``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from core.errors import Invalid
from core.ids import parse_uuid

MAX_SDP = 60_000
MAX_FRAME = MAX_SDP + 4_000  # the SDP and the rest of its frame
MAX_CANDIDATE = 1_000
MAX_CHAT = 1_000
CONNECTION_STATES = frozenset(
    {"new", "connecting", "connected", "disconnected", "failed", "closed"}
)


class BadClientId(ValueError):
    """``?client=`` is there but is not a UUID."""


def client_id(query_string: bytes) -> str | None:
    """The page's ``?client=<uuid>``, normalised; None when there is none."""
    values = parse_qs(query_string.decode("latin-1")).get("client")  # a blank one: none
    if not values:
        return None
    parsed = parse_uuid(values[0])
    if parsed is None or len(values) > 1:
        raise BadClientId(values[0][:40])
    return str(parsed)


def _description(kind: str, message: dict[str, Any]) -> dict[str, Any]:
    sdp = message.get("sdp")
    if not isinstance(sdp, str) or not sdp:
        raise Invalid("An offer or answer needs its SDP.")
    if len(sdp) > MAX_SDP:
        raise Invalid("An SDP has at most 60,000 characters.", code="too_large")
    return {"type": kind, "sdp": sdp}


def _candidate(message: dict[str, Any]) -> dict[str, Any]:
    candidate = message.get("candidate")
    if candidate is None:  # end of candidates
        return {"type": "candidate", "candidate": None}
    if not isinstance(candidate, dict):
        raise Invalid("A candidate is an object with candidate, sdpMid and sdpMLineIndex.")
    text = candidate.get("candidate")
    mid = candidate.get("sdpMid")
    index = candidate.get("sdpMLineIndex")
    if (
        not isinstance(text, str)
        or len(text) > MAX_CANDIDATE
        or not (mid is None or (isinstance(mid, str) and len(mid) <= 32))
        or not (index is None or (isinstance(index, int) and 0 <= index < 64))
    ):
        raise Invalid("That ICE candidate is not valid.")
    return {
        "type": "candidate",
        "candidate": {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index},
    }


def _state(message: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = {"type": "state"}
    for flag in ("muted", "camera", "audio_only", "low_bandwidth"):
        if flag in message:
            if not isinstance(message[flag], bool):
                raise Invalid(f"{flag} must be true or false.")
            state[flag] = message[flag]
    if "connection" in message:
        if message["connection"] not in CONNECTION_STATES:
            raise Invalid("Unknown connection state.")
        state["connection"] = message["connection"]
    return state


def clean_signal(message: dict[str, Any]) -> dict[str, Any]:
    """The relayed part of a signalling message, checked field by field."""
    kind = message["type"]
    if kind in ("offer", "answer"):
        return _description(kind, message)
    if kind == "candidate":
        return _candidate(message)
    if kind == "state":
        return _state(message)
    raise Invalid("Unknown signalling message.")


def chat_text(message: dict[str, Any]) -> str:
    text = message.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHAT:
        raise Invalid("A chat message has 1 to 1,000 characters.")
    return text.strip()
