from __future__ import annotations

from django.http import HttpRequest

from accounts.holders import holder_name
from accounts.models import User


def whoami(request: HttpRequest) -> dict[str, str]:
    """The header's "who am I": a name and a role, never more personal data than needed."""
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return {}
    if user.is_patient:
        name = holder_name(user) or user.masked_mobile
    else:
        name = user.full_name or user.username
    return {"whoami_name": name, "whoami_role": str(user.get_role_display())}
