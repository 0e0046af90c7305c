from __future__ import annotations

from django.urls import path

from queues import consumers

websocket_urlpatterns = [
    path("ws/waiting/<str:ticket>/", consumers.WaitingRoomConsumer.as_asgi()),
    path("ws/console/", consumers.DoctorConsoleConsumer.as_asgi()),
]
