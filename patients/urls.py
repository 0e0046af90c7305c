from __future__ import annotations

from django.urls import path

from patients import views

app_name = "patients"

urlpatterns = [
    path("welcome/", views.welcome, name="welcome"),
    path("family/", views.family, name="family"),
    path("family/add/", views.add_member, name="add-member"),
    path("family/<uuid:member_id>/edit/", views.edit_member, name="edit-member"),
    path("family/<uuid:member_id>/remove/", views.remove_member, name="remove-member"),
]
