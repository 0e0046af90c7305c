"""Who may see which patients. Every entry point asks here."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.utils.translation import gettext

from accounts.models import User
from core.errors import NotFound
from core.ids import parse_uuid
from patients.models import Patient


def family_for(user: User) -> QuerySet[Patient]:
    """A patient account sees its own family; nobody else sees families through this."""
    if not user.is_authenticated or not user.is_patient:
        return Patient.objects.none()
    return Patient.objects.filter(account=user, archived_at=None).select_related(
        "state", "district", "preferred_language"
    )


def family_member_for(user: User, public_id: uuid.UUID | str) -> Patient:
    """A member of the user's family, or 404: another family's member does not exist for you."""
    parsed = parse_uuid(public_id)
    member = family_for(user).filter(public_id=parsed).first() if parsed else None
    if member is None:
        raise NotFound(gettext("No such family member."))
    return member


def account_holder_of(user: User) -> Patient | None:
    return family_for(user).filter(relationship="self").first()


def account_holder_name(user: User) -> str | None:
    """What ``accounts.holders`` asks: the name a patient account goes by."""
    holder = account_holder_of(user)
    return holder.name if holder else None
