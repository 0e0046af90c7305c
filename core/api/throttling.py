"""DRF throttles keyed on the client address from ``core.http``, never on raw headers.

DRF's own ``get_ident`` reads ``X-Forwarded-For`` by its own rule (``NUM_PROXIES``); every
throttle in this project derives from ``ClientAddressThrottle`` instead, so an API limit counts
the same client as the sign-in limits and django-axes do (a test walks the URL map to keep it so).
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, ScopedRateThrottle

from core.http import client_address


class ClientAddressThrottle(BaseThrottle):
    """Mixin: the client is identified by ``core.http.client_address``."""

    def get_ident(self, request: Request) -> str:
        return client_address(request._request)


class AnonClientRateThrottle(ClientAddressThrottle, AnonRateThrottle):
    """``AnonRateThrottle`` (scope ``anon``) per client address."""


class ClientScopedRateThrottle(ClientAddressThrottle, ScopedRateThrottle):
    """``ScopedRateThrottle`` (a view's ``throttle_scope``): per user, or per client address."""
