"""ASGI entry point: Daphne serves HTTP and WebSockets from this one application."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esanjeevani.settings")

# Django must be set up before consumers (and the models they import) are loaded.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from core.socket_origin import SameOriginOnly  # noqa: E402
from esanjeevani.routing import websocket_urlpatterns  # noqa: E402
from queues.sweeper import StartsQueueSweeper  # noqa: E402

# Thousands of long-lived socket objects make full garbage collections pause the whole process
# for hundreds of milliseconds: keep what start-up created out of them, and collect less often.
gc.freeze()
gc.set_threshold(50_000, 50, 100)

application = StartsQueueSweeper(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            # Only this deployment's own pages (scheme, host and port) may open a socket.
            "websocket": SameOriginOnly(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)
