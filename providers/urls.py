from __future__ import annotations

from django.urls import path

from providers import views

app_name = "providers"

urlpatterns = [
    path("staff/", views.staff_home, name="staff-home"),
]
