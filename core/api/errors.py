"""The API's one error envelope.

Every error response has the shape::

    {"error": {"code": "invalid", "message": "…", "fields": {"mobile": ["…"]}}}

``code`` is stable and machine-readable, ``message`` is for people (translated), ``fields`` is
present when particular inputs were refused. Throttled responses add ``retry_after`` (seconds)
and a ``Retry-After`` header, and so do answers while a backing service is down (503
``unavailable``, see ``core.outages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ServiceError
from core.outages import RETRY_AFTER_SECONDS, is_outage, log_outage


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def envelope(
    code: str, message: str, fields: Mapping[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = dict(fields)
    body.update(extra)
    return {"error": body}


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error details into ``{"field.sub": ["message", …]}``."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, Mapping | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(_("The request is too large."))
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(_("The request could not be read."))
    if isinstance(exc, Http404):
        return exceptions.NotFound(_("Not found."))
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(get_error_detail(exc))
    return exc


def unavailable_body() -> dict[str, Any]:
    return envelope(
        "unavailable",
        _("The service is briefly unavailable. Please try again in a moment."),
        retry_after=RETRY_AFTER_SECONDS,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if is_outage(exc):
        request = context.get("request")
        if request is not None:
            log_outage(request, exc)
        return Response(
            unavailable_body(),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, ServiceError):
        refused = Response(
            envelope(exc.code, exc.message, exc.fields or None, **exc.extra), status=exc.status
        )
        if "retry_after" in exc.extra:
            refused["Retry-After"] = str(exc.extra["retry_after"])
        return refused

    exc = _as_api_exception(exc)
    handled = drf_exception_handler(exc, context)
    if handled is None or not isinstance(exc, exceptions.APIException):
        return handled  # an unexpected error: Django's 500 handler answers in the envelope
    response = handled

    if isinstance(exc, exceptions.ValidationError):
        response.data = envelope(
            "invalid", _("Some of the information is not valid."), flatten_errors(exc.detail)
        )
        return response

    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    extra: dict[str, Any] = {}
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        extra["retry_after"] = int(wait)
    response.data = envelope(str(code), str(exc.detail), **extra)
    return response


def json_error(request: HttpRequest, status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(envelope(code, message), status=status_code)


def json_unavailable() -> JsonResponse:
    response = JsonResponse(unavailable_body(), status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
