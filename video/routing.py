from __future__ import annotations

from django.urls import path

from video import consumers

websocket_urlpatterns = [
    path("ws/call/<str:room>/", consumers.CallConsumer.as_asgi()),
]
