"""WebSocket routes of every app, gathered in one list for asgi.py."""

from __future__ import annotations

from typing import Any

from dashboards.routing import websocket_urlpatterns as dashboard_patterns
from queues.routing import websocket_urlpatterns as queue_patterns
from video.routing import websocket_urlpatterns as call_patterns

websocket_urlpatterns: list[Any] = [*queue_patterns, *call_patterns, *dashboard_patterns]
