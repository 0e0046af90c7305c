"""The family's ABDM section on the history page (consultations.history_sections): per member,
the ABHA, which records are linked, the consents and what was shared with whom and when."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from abdm.selectors import records_of
from accounts.models import User
from patients.models import Patient


def abdm_section(request: HttpRequest, account: User, members: Sequence[Patient]) -> SafeString:
    records = records_of(members)
    html = render_to_string("abdm/history_section.html", {"records": records}, request=request)
    return mark_safe(html)  # noqa: S308 - rendered by the template engine, escaped there
