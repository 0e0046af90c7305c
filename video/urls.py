from __future__ import annotations

from django.urls import path

from video import echo, views

app_name = "video"

urlpatterns = [
    path("call/<uuid:room>/", views.call_page, name="call"),
    path("precall/", views.precall_page, name="precall"),
    path("api/precall/offer/", echo.precall_offer, name="precall-offer"),
]
