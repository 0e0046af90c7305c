from __future__ import annotations

from django.urls import path

from consultations import downloads, verify, views

app_name = "consultations"

urlpatterns = [
    path("consultations/<uuid:ticket_id>/", views.consultation_page, name="consultation"),
    path("history/", views.history_page, name="history"),
    path("visits/<uuid:ticket_id>/outcome/", views.visit_outcome_panel, name="visit-outcome"),
    path("prescriptions/<uuid:prescription_id>/pdf/", downloads.prescription_pdf, name="pdf"),
    path("prescriptions/<uuid:prescription_id>/fhir/", downloads.prescription_fhir, name="fhir"),
    path("verify/<str:token>/", verify.verify_page, name="verify"),
]
