from __future__ import annotations

from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("dashboard/", views.dashboard, name="home"),
    path("dashboard/<slug:table>.csv", views.export, name="export"),
    path("dashboard/states/<str:state>/", views.state_dashboard, name="state"),
    path("dashboard/states/<str:state>/<slug:table>.csv", views.export, name="state-export"),
]
