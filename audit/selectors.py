"""What the access log shows a family: who looked at its members' records, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from accounts.models import Role, User
from audit.models import AccessEvent

FAMILY_LIMIT = 50


@dataclass
class Look:
    """One look, at one or more members at once (e.g. the history page, read for all)."""

    at: datetime
    who: str
    what: str
    whose: list[str] = field(default_factory=list)


def looks_at_family(account: User, limit: int = FAMILY_LIMIT) -> list[Look]:
    """The latest looks at the records of ``account``'s family (its members only, removed
    ones included), newest first. Client addresses are not part of it: a family sees who
    and when, never where a doctor or the support team was."""
    events = (
        AccessEvent.objects.filter(patient__account=account)
        .select_related("patient", "accessor")
        .order_by("-at", "-id")[: limit * 4]
    )
    looks: list[Look] = []
    seen: dict[tuple[object, ...], Look] = {}
    for event in events:
        key = (event.at, event.accessor_id, event.action, event.subject)
        look = seen.get(key)
        if look is None:
            if len(looks) == limit:
                break
            look = Look(event.at, _who(event, account), event.get_action_display())
            seen[key] = look
            looks.append(look)
        if event.patient.name not in look.whose:
            look.whose.append(event.patient.name)
    return looks


def _who(event: AccessEvent, account: User) -> str:
    if event.accessor_id == account.pk:
        return _("You (this account)")
    person = event.accessor
    name = person.full_name or person.username
    if event.accessor_role == Role.PATIENT:
        return _("An account of another family")
    role = dict(Role.choices).get(event.accessor_role, event.accessor_role)
    return _("%(name)s (%(role)s)") % {"name": name, "role": str(role).lower()}
