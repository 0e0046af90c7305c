from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The caller's address; behind ``PROXY_COUNT`` trusted proxies, taken from X-Forwarded-For."""
    proxies: int = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return str(hops[-min(proxies, len(hops))])
    return str(request.META.get("REMOTE_ADDR") or "unknown")
