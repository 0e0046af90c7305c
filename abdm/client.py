"""The ABDM client as the rest of the project sees it: ``send`` a call to the gateway (stored,
then posted by a Celery task with retries), and the HTTP layer underneath (``abdm.gateway``)."""

from __future__ import annotations

from abdm.gateway import session_token, timestamp
from abdm.models import Flow, GatewayMessage
from abdm.services import send

__all__ = ["Flow", "GatewayMessage", "send", "session_token", "timestamp"]
