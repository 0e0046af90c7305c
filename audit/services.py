"""Recording a look at patients' records: one INSERT, before the records are shown.

If the event cannot be written, the records are not shown: ``record_access`` raises
``AuditUnavailable`` (503, code ``audit_unavailable``, with ``Retry-After``). A health record
read without a trace is worse than a refusal the person can retry in a minute.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Iterable

from django.db import DatabaseError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from accounts.models import User
from audit.models import AccessEvent
from core.errors import ServiceError
from core.http import client_address
from patients.models import Patient

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class AuditUnavailable(ServiceError):
    status = 503
    code = "audit_unavailable"


def record_access(
    request: HttpRequest | Request,
    action: AccessEvent.Action,
    patients: Patient | Iterable[Patient],
    *,
    subject: uuid.UUID | None = None,
) -> None:
    """Note that the signed-in user of ``request`` is about to see ``patients``' records."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("only a signed-in user's look at records is recorded")
    django_request = request._request if isinstance(request, Request) else request
    address = _address(client_address(django_request))
    at = timezone.now()
    unique = {p.pk: p for p in ([patients] if isinstance(patients, Patient) else patients)}
    events = [
        AccessEvent(
            at=at,
            patient=patient,
            accessor=user,
            accessor_role=user.role,
            action=action,
            subject=subject,
            client_address=address,
        )
        for patient in unique.values()
    ]
    if not events:
        return
    try:
        with transaction.atomic():  # a savepoint: a failure leaves the caller's work intact
            AccessEvent.objects.bulk_create(events)
    except DatabaseError as error:
        # The class only: a database's message may quote the row (ids, addresses).
        logger.error("Access event not written (%s): records withheld", type(error).__name__)
        raise AuditUnavailable(
            _(
                "The access log cannot be written just now, so these records are not shown. "
                "Please try again in a minute."
            ),
            extra={"retry_after": RETRY_AFTER_SECONDS},
        ) from None


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
