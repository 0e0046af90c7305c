"""Consultation pages (being written): the doctor's form and the family's history."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def consultation_page(request: HttpRequest, ticket_id: str) -> HttpResponse:
    return HttpResponse(status=501)


def history_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)
