"""Call and pre-call pages (being written)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def call_page(request: HttpRequest, room: str) -> HttpResponse:
    return HttpResponse(status=501)


def precall_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)
