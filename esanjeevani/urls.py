from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts.views import admin_login, set_language
from core import views as core_views

admin.site.site_header = _("eSanjeevani administration")
admin.site.site_title = _("eSanjeevani administration")
admin.site.login = admin_login  # type: ignore[method-assign]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("", include("accounts.urls")),
    path("", include("patients.urls")),
    path("", include("abdm.abha_urls")),
    path("", include("providers.urls")),
    path("", include("queues.urls")),
    path("", include("video.urls")),
    path("", include("consultations.urls")),
    path("", include("dashboards.urls")),
    path("", include("abdm.pages_urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/<str:language>/", core_views.javascript_catalogue, name="javascript-catalogue"),
    # ABDM's gateway calls the bridge here (server to server, its own JWT; not in the schema).
    path("api/v3/", include("abdm.urls")),
    path("api/", include(("esanjeevani.api_urls", "api"))),
    path("admin/", admin.site.urls),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
