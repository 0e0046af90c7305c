"""Known devices: proof that this browser (or app) has completed a sign-in to an account before.

A complete sign-in (password and second factor for staff, the SMS code for patients) gives the
device a token: a signed list of up to ``MAX_ACCOUNTS`` entries (a shared clinic computer serves
several doctors), each holding a random device id, when it was issued, and a keyed hash binding
it to one account (for staff, also to the current password: changing it forgets every device).
Pages keep the token in an HttpOnly cookie; API clients get it as ``device`` in the sign-in
answer and send it back as ``device``. It carries no name, number or address: the binding is an
HMAC keyed with ``SECRET_KEY``.

The sign-in limits treat a known device as its account holder (see accounts/lockout.py and
accounts/otp.py): someone hammering the account from elsewhere cannot lock it out.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, salted_hmac

MAX_ACCOUNTS = 5
SIGNING_SALT = "accounts.devices"


@dataclass(frozen=True)
class DeviceKind:
    name: str
    cookie: str


STAFF = DeviceKind("staff", "esj_staff_device")
PATIENT = DeviceKind("patient", "esj_patient_device")


def lifetime_seconds() -> int:
    return int(settings.KNOWN_DEVICE_DAYS) * 24 * 3600


def binding(kind: DeviceKind, subject: str) -> str:
    """The keyed hash an entry carries instead of the account it belongs to."""
    digest = salted_hmac(f"{SIGNING_SALT}.{kind.name}", subject, algorithm="sha256")
    return digest.hexdigest()[:32]


def _entries(kind: DeviceKind, token: str | None) -> list[dict[str, Any]]:
    """The token's valid, unexpired entries; anything unreadable counts as no token."""
    if not token or len(token) > 4096:
        return []
    try:
        data = signing.loads(token, salt=f"{SIGNING_SALT}.{kind.name}")
    except signing.BadSignature:
        return []
    if not isinstance(data, list):
        return []
    oldest = time.time() - lifetime_seconds()
    return [
        entry
        for entry in data
        if isinstance(entry, dict)
        and isinstance(entry.get("b"), str)
        and isinstance(entry.get("d"), str)
        and isinstance(entry.get("t"), int)
        and entry["t"] >= oldest
    ]


def known_device(kind: DeviceKind, token: str | None, subject: str) -> str | None:
    """The id of this device if ``token`` shows it signed in to ``subject``'s account."""
    wanted = binding(kind, subject)
    for entry in _entries(kind, token):
        if constant_time_compare(entry["b"], wanted):
            return str(entry["d"])
    return None


def remember(kind: DeviceKind, token: str | None, subject: str) -> str:
    """A new token for this device: known to ``subject`` under a fresh id (so failures counted
    against the old id are left behind), keeping its other accounts, newest first."""
    wanted = binding(kind, subject)
    others = [e for e in _entries(kind, token) if not constant_time_compare(e["b"], wanted)]
    entry = {"b": wanted, "d": secrets.token_hex(12), "t": int(time.time())}
    return signing.dumps(
        [entry, *others[: MAX_ACCOUNTS - 1]], salt=f"{SIGNING_SALT}.{kind.name}", compress=True
    )


def token_from(request: HttpRequest, kind: DeviceKind, sent: str | None = None) -> str | None:
    """The token an API client sent, else the page's cookie."""
    return sent or request.COOKIES.get(kind.cookie) or None


def set_cookie(response: HttpResponse, kind: DeviceKind, token: str) -> None:
    response.set_cookie(
        kind.cookie,
        token,
        max_age=lifetime_seconds(),
        httponly=True,
        secure=settings.HTTPS,
        samesite="Lax",
    )
