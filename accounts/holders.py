"""The name a patient account goes by: its account holder's, a family member that ``patients``
keeps. A patient account without one has not finished signing up (the welcome page asks).

Accounts sits below patients and cannot ask it; patients tells this module how to find the
holder when it starts (``PatientsConfig.ready`` calls ``provide``). Where a patient goes after
signing in, the API's ``me`` and the header's "who am I" ask ``holder_name``."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

from accounts.models import User

HolderName = Callable[[User], str | None]

_holder_name: HolderName | None = None


def provide(lookup: HolderName) -> None:
    """Called once by the app that keeps families (``patients``)."""
    global _holder_name  # noqa: PLW0603
    _holder_name = lookup


def holder_name(account: User) -> str | None:
    """The account holder's name for a patient account, or None while it has none."""
    if _holder_name is None:
        raise ImproperlyConfigured("No app provides account holders: is patients installed?")
    return _holder_name(account)
