"""Which pages may open this deployment's sockets: the rule of Django's CSRF origin check.

A browser opens a socket with the cookies of the site it connects to, whichever page asks, and
says which page asks in ``Origin``. A socket that accepted any page's origin would let another
site act as the signed-in user (cross-site WebSocket hijacking). Channels'
``AllowedHostsOriginValidator`` compares host names only, so a page on another port or scheme
of an allowed host (``http://127.0.0.1:9999``, ``https://127.0.0.1``) passed.

Here the origin must be the socket's own, as ``CsrfViewMiddleware`` requires of a form post:
``https`` when the socket is secure (``wss``, or ``X-Forwarded-Proto: https`` from the proxy
when ``HTTPS`` is on, Django's ``SECURE_PROXY_SSL_HEADER``), else ``http``, with the ``Host``
the socket was opened on (scheme, host and port compared), and that ``Host`` must be one of
``ALLOWED_HOSTS``; or the origin is one of ``CSRF_TRUSTED_ORIGINS`` (``https://*.example.in``
for subdomains, as in Django). Anything else, and a socket without ``Origin``, is refused at
the handshake (HTTP 403), before any consumer runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """A request header of an ASGI scope (names are lower case there), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def is_secure(scope: dict[str, Any]) -> bool:
    """As ``HttpRequest.is_secure()``: the proxy's header when Django is told to trust one."""
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        name, secure_value = proxy_header
        value = header(scope, name.removeprefix("HTTP_").lower().replace("_", "-").encode())
        if value is not None:
            return bool(value.split(",", 1)[0].strip() == secure_value)
    return scope.get("scheme") in ("wss", "https")


def _allowed_hosts() -> list[str]:
    hosts: list[str] = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:  # as HttpRequest.get_host()
        return [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def _parsed(origin: str) -> Origin | None:
    """``(scheme, host, port)`` with the scheme's default port filled in, or None."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def served_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin of the pages this socket belongs to, or None when its Host is not ours."""
    host = header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    return _parsed(f"{'https' if is_secure(scope) else 'http'}://{host}")


def _trusted(origin: str, parsed: Origin) -> bool:
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in trusted:  # "https://*.example.in": that domain and its subdomains
            pattern = urlsplit(trusted)
            if pattern.scheme == parsed[0] and is_same_domain(
                urlsplit(origin).netloc, pattern.netloc.lstrip("*")
            ):
                return True
        elif _parsed(trusted) == parsed:
            return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    origin = header(scope, b"origin")
    own = served_origin(scope)
    if origin is None or own is None:
        return False
    parsed = _parsed(origin)
    if parsed is None:  # "null" (sandboxed pages, files) and anything unreadable
        return False
    return parsed == own or _trusted(origin, parsed)


class SameOriginOnly:
    """ASGI middleware for the ``websocket`` protocol: refuses other pages' origins."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)
