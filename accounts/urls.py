from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signin/", views.patient_signin, name="patient-signin"),
    path("signin/code/", views.patient_code, name="patient-code"),
    path("signin/resend/", views.patient_resend, name="patient-resend"),
    path("signout/", views.signout, name="signout"),
    path("staff/signin/", views.staff_signin, name="staff-signin"),
    path("staff/signin/code/", views.staff_code, name="staff-code"),
    path("staff/security/", views.staff_security, name="staff-security"),
]
