"""How the service addresses a person outside a request: in which language, with which link.

Used by every app that writes to a family (SMS, e-mail, documents), so that one rule says which
languages the service speaks and where its public address is.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def supported_language(code: str | None) -> str:
    """``code`` if the service speaks it (or a variant of it), else the default language."""
    try:
        return translation.get_supported_language_variant(code or "")
    except LookupError:
        return settings.LANGUAGE_CODE


def public_url(path: str) -> str:
    """An absolute link to ``path`` on the public site (``PUBLIC_BASE_URL``)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + path
