"""``manage.py abdm_register_bridge [URL]``: register this deployment's bridge with the gateway.

ABDM's gateway posts every callback to the bridge URL registered for our client id. The offline
gateway's demo client already names http://127.0.0.1:8000; ABDM's sandbox, or a `make run` on
another port, needs this once (docs/abdm.md, "Switching to ABDM's sandbox").
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from abdm.gateway import GatewayRefused, GatewayUnreachable, register_bridge_url


class Command(BaseCommand):
    help = (
        "Register this deployment's bridge URL with ABDM's gateway (PATCH /gateway/v3/bridge/url)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "url",
            nargs="?",
            default="",
            help="the bridge's public base URL (default: PUBLIC_BASE_URL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bridge = (options["url"] or settings.PUBLIC_BASE_URL).rstrip("/")
        if not bridge.startswith(("http://", "https://")):
            raise CommandError("The bridge URL must start with http:// or https://")
        try:
            status = register_bridge_url(bridge)
        except GatewayUnreachable as exc:
            raise CommandError(f"The gateway could not be reached ({exc}); try again.") from exc
        except GatewayRefused as exc:
            raise CommandError(f"The gateway refused the registration ({exc}).") from exc
        self.stdout.write(
            f"Bridge {bridge} registered with {settings.ABDM_GATEWAY_URL} ({status})."
        )
