from __future__ import annotations

from django.urls import path

from abdm import pages

app_name = "abdm_pages"

urlpatterns = [
    path("abdm/counters/", pages.share_counters, name="share-counters"),
    path("abdm/counters/<uuid:opd_id>/", pages.share_counter, name="share-counter"),
]
