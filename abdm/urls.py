from __future__ import annotations

from django.urls import path

from abdm import views

app_name = "abdm"

# Mounted at /api/v3/ (esanjeevani/urls.py), before the API's own /api/ routes.
urlpatterns = [
    path(route, views.callback, {"flow": flow}, name=f"bridge-{flow}")
    for route, flow in views.CALLBACK_PATHS.items()
]
