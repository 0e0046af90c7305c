from __future__ import annotations

from django.urls import path

from dashboards import consumers

websocket_urlpatterns = [
    path("ws/dashboard/live/", consumers.LiveDashboardConsumer.as_asgi()),
]
