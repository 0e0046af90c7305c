"""Downloads of a signed prescription (being written): the PDF and the FHIR bundle."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def prescription_pdf(request: HttpRequest, prescription_id: str) -> HttpResponse:
    return HttpResponse(status=501)


def prescription_fhir(request: HttpRequest, prescription_id: str) -> HttpResponse:
    return HttpResponse(status=501)
