"""ICE servers for a call: STUN, and TURN with short-lived credentials in coturn's REST format.

coturn with ``use-auth-secret`` accepts username ``"<expiry unix time>:<user id>"`` and password
``base64(HMAC-SHA1(shared secret, username))``. Credentials are issued only to a call's
participants and expire after ``TURN_CREDENTIAL_TTL_SECONDS``. With no servers configured
(``make run`` on one machine) the list is empty and calls use host candidates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from django.conf import settings


def turn_credentials(user_id: str, *, now: float | None = None) -> tuple[str, str, int]:
    """``(username, credential, expires_at)`` for ``user_id`` (a public id, never a name)."""
    expires_at = int(
        (now if now is not None else time.time()) + settings.TURN_CREDENTIAL_TTL_SECONDS
    )
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode(), expires_at


def ice_servers(user_id: str, *, now: float | None = None) -> list[dict[str, Any]]:
    servers: list[dict[str, Any]] = []
    if settings.STUN_URLS:
        servers.append({"urls": list(settings.STUN_URLS)})
    if settings.TURN_URLS and settings.TURN_SECRET:
        username, credential, _expires = turn_credentials(user_id, now=now)
        servers.append(
            {"urls": list(settings.TURN_URLS), "username": username, "credential": credential}
        )
    return servers
