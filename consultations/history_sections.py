"""Sections other apps add to the family's history page (consultations/views.history_page),
which this app must not import: each is a function ``(request, account, members) -> html``
registered in the app's ``ready()`` (abdm adds the family's ABDM links, consents and shares).
A section scopes itself to ``members``, the account's own family."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.http import HttpRequest
from django.utils.safestring import SafeString

from accounts.models import User
from patients.models import Patient

HistorySection = Callable[[HttpRequest, User, Sequence[Patient]], SafeString]
SECTIONS: list[HistorySection] = []


def add_history_section(section: HistorySection) -> None:
    if section not in SECTIONS:
        SECTIONS.append(section)


def render_sections(
    request: HttpRequest, account: User, members: Sequence[Patient]
) -> list[SafeString]:
    return [section(request, account, members) for section in SECTIONS]
