"""The public verification page a prescription's QR code opens (being written)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def verify_page(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse(status=501)
