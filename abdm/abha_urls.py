from __future__ import annotations

from django.urls import path

from abdm import abha_views as views

app_name = "abha"

# Under a family member's pages (mounted at the site root, beside patients.urls).
urlpatterns = [
    path("family/<uuid:member_id>/abha/", views.home, name="home"),
    path("family/<uuid:member_id>/abha/link/", views.link_start, name="link"),
    path("family/<uuid:member_id>/abha/code/", views.otp, name="otp"),
    path("family/<uuid:member_id>/abha/link/choose/", views.choose, name="choose"),
    path("family/<uuid:member_id>/abha/link/confirm/", views.confirm, name="confirm"),
    path("family/<uuid:member_id>/abha/unlink/", views.unlink, name="unlink"),
    path("family/<uuid:member_id>/abha/card/", views.card, name="card"),
    path("family/<uuid:member_id>/abha/card/code/", views.card_otp, name="card-otp"),
    path("family/<uuid:member_id>/abha/card.png", views.card_image, name="card-image"),
    path("family/<uuid:member_id>/abha/create/", views.create_start, name="create"),
    path("family/<uuid:member_id>/abha/create/code/", views.create_otp, name="create-otp"),
]
