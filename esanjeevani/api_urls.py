"""The REST API, gathered from each app's ``api`` module."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from accounts import api as accounts_api
from core.api import reference
from patients import api as patients_api
from providers import api as providers_api

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
    *router.urls,
]
