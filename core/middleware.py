from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone

from core.api.errors import json_unavailable
from core.errors import ServiceError
from core.outages import RETRY_AFTER_SECONDS, is_outage, log_outage


class IndianTimeMiddleware:
    """Store UTC, show Indian Standard Time: every page renders datetimes in IST."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.zone = ZoneInfo(settings.DISPLAY_TIME_ZONE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(self.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ServiceErrorPageMiddleware:
    """A refusal escaping a page view (e.g. another family's member) becomes its error page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ServiceError) or request.path.startswith("/api/"):
            return None
        template = "errors/404.html" if exception.status == 404 else "errors/refused.html"
        return render(request, template, {"message": exception.message}, status=exception.status)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with ``Retry-After``: the API's envelope, or a page rendered without the request's
    context (the database or the session store may be what is down)."""
    if request.path.startswith("/api/"):
        return json_unavailable()
    page = loader.get_template("errors/503.html").render()
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ServiceUnavailableMiddleware:
    """A view that failed because PostgreSQL, Redis or the broker is down answers 503, not 500
    (see ``core.outages``; failures outside views reach ``core.views.server_error``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_outage(exception):
            return None
        log_outage(request, exception)
        return unavailable_response(request)


class SecurityHeadersMiddleware:
    """A strict Content Security Policy (every script and style is served by us; no CDN) and a
    Permissions-Policy that lets only our own pages use the camera and microphone.

    The admin and the API's browsable docs render inline scripts, so they get the headers
    without the CSP.
    """

    POLICY = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "connect-src 'self' ws: wss:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    EXEMPT = ("/admin/", "/api/docs/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(self), microphone=(self), geolocation=()"
        )
        if not request.path.startswith(self.EXEMPT):
            response.headers.setdefault("Content-Security-Policy", self.POLICY)
        return response
