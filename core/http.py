"""Who is calling: the one rule for a client's address, for HTTP requests and WebSocket scopes.

Every per-client limit (one-time codes, staff sign-in, django-axes, DRF throttles, sockets) keys
on this address, so it must not be something the client can choose. ``X-Forwarded-For`` is
written by whoever sent the request, so it is trusted only as far as ``PROXY_COUNT`` says:

- ``PROXY_COUNT=0`` (the default): the header is ignored; the address is the TCP peer.
- ``PROXY_COUNT=N``: the last N entries were appended by our own proxies, so the client is the
  N-th entry from the right (each proxy appends the address it received the request from).
  Anything further left was written by the client and is ignored.
- A request with fewer entries than that did not come through our proxies (or they replace the
  header instead of appending to it); its header proves nothing, so the peer address is used.

Daphne is started without ``--proxy-headers``: it would put the *left-most* entry, which the
client wrote, in the peer address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = "unknown"


def _as_address(value: str) -> str | None:
    """An IP address from a header entry or peer, without a port; None if it is not one."""
    value = value.strip()
    if value.startswith("["):  # [2001:db8::1]:443
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def resolve_client_address(peer: str | None, forwarded_for: Iterable[str], proxies: int) -> str:
    """The client's address from the TCP ``peer`` and the ``X-Forwarded-For`` header values,
    trusting the right-most ``proxies`` entries (see the module docstring)."""
    direct = (_as_address(peer) if peer else None) or (peer or UNKNOWN)
    if proxies <= 0:
        return direct
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    if len(hops) < proxies:
        return direct
    return _as_address(hops[-proxies]) or direct


def client_address(request: HttpRequest) -> str:
    """The address of whoever sent ``request``: the key of every per-client limit."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    return resolve_client_address(
        request.META.get("REMOTE_ADDR"), [forwarded] if forwarded else [], settings.PROXY_COUNT
    )


def client_ip(request: HttpRequest) -> str | None:
    """``client_address`` when it is an IP address, else None: for django-axes, which stores it
    in an IP address column (a request built by hand, e.g. by ``Client.force_login``, has none)."""
    return _as_address(client_address(request))


def socket_client_address(scope: Mapping[str, Any]) -> str:
    """The same rule for an ASGI (WebSocket) scope: its ``client`` and its raw headers."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"x-forwarded-for"
    ]
    return resolve_client_address(peer, forwarded, settings.PROXY_COUNT)
