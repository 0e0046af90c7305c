from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.errors import ServiceError


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
