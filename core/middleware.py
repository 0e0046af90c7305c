from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers

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


class CacheControlMiddleware:
    """Nothing this service answers may be kept by a browser's, proxy's or CDN's cache, unless
    its view says it is public: patient data is in pages, API answers and downloads alike, and
    a shared computer's back button or a caching proxy must not hand it to the next person.

    Every response gets ``Cache-Control: no-store, private`` (and ``Vary: Cookie``, plus
    ``Authorization`` for token requests) except one that is explicitly public: a view
    decorated with ``publicly_cacheable`` (non-personal reference data). Static assets never
    reach this middleware: WhiteNoise, above it, serves them with its own long-lived caching.
    Directives a view set itself (``never_cache``'s ``max-age=0``, ``no-cache``) are kept beside
    them; ``no-store`` overrides any caching they might allow.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if _is_public(response):
            return response
        patch_cache_control(response, no_store=True, private=True)
        varies = ["Cookie", "Authorization"] if "authorization" in request.headers else ["Cookie"]
        patch_vary_headers(response, varies)
        return response


def _is_public(response: HttpResponseBase) -> bool:
    directives = response.get("Cache-Control", "").split(",")
    return "public" in {d.split("=", 1)[0].strip().lower() for d in directives}


def publicly_cacheable(max_age: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The one way out of ``no-store``: for views whose answers hold nothing personal and are
    the same for everyone (reference data). Only successful answers are marked public; refusals
    and errors stay ``no-store``."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            response = view(*args, **kwargs)
            if response.status_code == 200:
                patch_cache_control(response, public=True, max_age=max_age)
            return response

        return wrapped

    return decorate
