"""Error pages: the API answers in its JSON envelope, pages in HTML."""

from __future__ import annotations

import sys

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.http import ConditionalGetMiddleware
from django.shortcuts import render
from django.template import loader
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.decorators import decorator_from_middleware
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from django.views.i18n import JavaScriptCatalog

from core.api.errors import json_error
from core.middleware import unavailable_response
from core.outages import is_outage


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error(request, 400, "bad_request", _("The request could not be read."))
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error(
            request, 403, "permission_denied", _("You do not have permission to do this.")
        )
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error(request, 404, "not_found", _("Not found."))
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception: an outage met outside a view (the session
    # or a middleware reading the database) is a 503 like any other.
    if is_outage(sys.exc_info()[1]):
        return unavailable_response(request)
    if _is_api(request):
        return json_error(
            request, 500, "server_error", _("Something went wrong on our side. Please try again.")
        )
    # No request context: the database may be what failed.
    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _is_api(request):
        return json_error(
            request, 403, "csrf_failed", _("Your session expired. Reload the page and try again.")
        )
    return render(request, "errors/csrf.html", status=403)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


# Our own djangojs catalogue (LOCALE_PATHS; "core" has none of its own, so no package's strings
# come along), with Django's gettext/ngettext/interpolate for the pages' scripts.
_javascript_catalogue = JavaScriptCatalog.as_view(packages=["core"])


@require_safe
@decorator_from_middleware(ConditionalGetMiddleware)  # an ETag, and 304 when it still matches
def javascript_catalogue(request: HttpRequest, language: str) -> HttpResponseBase:
    """The JavaScript catalogue of one language. The language is in the address, so a browser's
    copy never outlives a language switch; browsers check it again on every use."""
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        response = _javascript_catalogue(request)
    response["Content-Language"] = language
    patch_cache_control(response, public=True, no_cache=True)
    return response
