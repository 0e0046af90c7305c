"""Errors that services raise and every entry point (API, page, socket) knows how to show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise


class ServiceError(Exception):
    """A request the domain refuses, with a stable machine-readable code.

    ``fields`` maps a field name to its messages when the refusal is about particular input.
    """

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str | None = None,
        fields: Mapping[str, Sequence[str | Promise]] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = str(message)
        if code is not None:
            self.code = code
        self.fields = {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()}
        self.extra = dict(extra or {})


class Invalid(ServiceError):
    status = 400
    code = "invalid"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class TooManyRequests(ServiceError):
    status = 429
    code = "throttled"

    def __init__(self, message: str | Promise, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class NotFound(ServiceError):
    status = 404
    code = "not_found"
