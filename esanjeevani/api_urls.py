"""The REST API, gathered from each app's ``api`` module."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from accounts import api as accounts_api
from consultations import api as consultations_api
from core.api import reference
from dashboards import api as dashboards_api
from patients import api as patients_api
from providers import api as providers_api
from queues import api as queues_api

router = SimpleRouter()
router.register("family/members", patients_api.FamilyMemberViewSet, basename="family-member")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("auth/otp/request/", accounts_api.OtpRequestView.as_view(), name="otp-request"),
    path("auth/otp/verify/", accounts_api.OtpVerifyView.as_view(), name="otp-verify"),
    path("auth/staff/login/", accounts_api.StaffLoginView.as_view(), name="staff-login"),
    path("auth/logout/", accounts_api.LogoutView.as_view(), name="logout"),
    path("me/", accounts_api.MeView.as_view(), name="me"),
    path("states/", reference.StateList.as_view(), name="states"),
    path("states/<str:state_code>/districts/", reference.DistrictList.as_view(), name="districts"),
    path("languages/", reference.LanguageList.as_view(), name="languages"),
    path("doctors/", providers_api.DoctorList.as_view(), name="doctors"),
    path("doctors/me/", providers_api.MyDoctorProfile.as_view(), name="my-doctor-profile"),
    path("facilities/", providers_api.FacilityList.as_view(), name="facilities"),
    path("opds/", queues_api.OpdList.as_view(), name="opds"),
    path("tickets/", queues_api.TicketList.as_view(), name="tickets"),
    path("tickets/<uuid:ticket_id>/", queues_api.TicketStatus.as_view(), name="ticket"),
    path("tickets/<uuid:ticket_id>/answer/", queues_api.TicketAnswer.as_view(), name="answer"),
    path("tickets/<uuid:ticket_id>/cancel/", queues_api.TicketCancel.as_view(), name="cancel"),
    path("console/", queues_api.ConsoleView.as_view(), name="console"),
    path("console/duty/", queues_api.ConsoleDuty.as_view(), name="console-duty"),
    path("console/heartbeat/", queues_api.ConsoleHeartbeat.as_view(), name="console-heartbeat"),
    path("console/resume/", queues_api.ConsoleResume.as_view(), name="console-resume"),
    path(
        "console/tickets/<uuid:ticket_id>/accept/",
        queues_api.ConsoleAccept.as_view(),
        name="console-accept",
    ),
    path(
        "console/tickets/<uuid:ticket_id>/skip/",
        queues_api.ConsoleSkip.as_view(),
        name="console-skip",
    ),
    path(
        "console/tickets/<uuid:ticket_id>/end/",
        queues_api.ConsoleEnd.as_view(),
        name="console-end",
    ),
    path(
        "consultations/<uuid:ticket_id>/",
        consultations_api.ConsultationView.as_view(),
        name="consultation",
    ),
    path(
        "consultations/<uuid:ticket_id>/draft/",
        consultations_api.DraftView.as_view(),
        name="consultation-draft",
    ),
    path(
        "consultations/<uuid:ticket_id>/finalise/",
        consultations_api.FinaliseView.as_view(),
        name="consultation-finalise",
    ),
    path("prescriptions/", consultations_api.MyPrescriptions.as_view(), name="prescriptions"),
    path(
        "prescriptions/<uuid:prescription_id>/",
        consultations_api.PrescriptionDetail.as_view(),
        name="prescription",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/correct/",
        consultations_api.CorrectionView.as_view(),
        name="prescription-correct",
    ),
    path("dashboards/trends/", dashboards_api.TrendsView.as_view(), name="dashboard-trends"),
    path("dashboards/states/", dashboards_api.StatesView.as_view(), name="dashboard-states"),
    path("dashboards/live/", dashboards_api.LiveView.as_view(), name="dashboard-live"),
    *router.urls,
]
