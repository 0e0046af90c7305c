"""Family workflows: add, change and remove members of a patient account."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from core.errors import Conflict
from core.reference import state_languages
from patients.identifiers import new_patient_number
from patients.models import Patient, Relationship

# The most widely spoken language: the likely one while the state is not known yet.
MOST_SPOKEN_LANGUAGE = "hi"


def likely_language(*, state_code: str | None, ui_language: str | None) -> str:
    """The consultation language a new patient most likely speaks: a default they can change.

    - Pages read in a language other than English (Hindi): that language, which they read.
    - Pages read in English: the state's main spoken language (``core/data/state_languages.csv``:
      Hindi in Uttar Pradesh, Bihar and the rest of the Hindi belt, Tamil in Tamil Nadu, ...).
      Reading English on screen says little about the language someone talks to a doctor in.
    - No state chosen yet: Hindi, the most widely spoken.
    """
    if ui_language and ui_language != "en":
        return ui_language
    if state_code:
        return state_languages().get(state_code, MOST_SPOKEN_LANGUAGE)
    return MOST_SPOKEN_LANGUAGE


def add_family_member(*, account: User, data: dict[str, Any]) -> Patient:
    """``data`` is already validated (see ``patients.api.FamilyMemberSerializer``)."""
    with transaction.atomic():
        # Serialise additions per account so the family cap holds under parallel requests.
        User.objects.select_for_update().filter(pk=account.pk).first()
        members = Patient.objects.filter(account=account, archived_at=None)
        if members.count() >= settings.FAMILY_MAX_MEMBERS:
            raise Conflict(
                ngettext(
                    "A family can have at most %(count)d member.",
                    "A family can have at most %(count)d members.",
                    settings.FAMILY_MAX_MEMBERS,
                )
                % {"count": settings.FAMILY_MAX_MEMBERS},
                code="family_full",
            )
        if (
            data["relationship"] == Relationship.SELF
            and members.filter(relationship=Relationship.SELF).exists()
        ):
            raise Conflict(
                _("This family already has an account holder."),
                code="account_holder_exists",
                fields={"relationship": [_("Choose how this person is related to you.")]},
            )
        _check_abha_unique_in_family(account, data, exclude=None)
        last_error: IntegrityError | None = None
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return Patient.objects.create(
                        account=account, patient_number=new_patient_number(), **data
                    )
            except IntegrityError as exc:  # a Patient ID collision, about 1 in 10^11: draw again
                last_error = exc
        assert last_error is not None
        raise last_error


def update_family_member(*, member: Patient, data: dict[str, Any]) -> Patient:
    if "relationship" in data and (
        (data["relationship"] == Relationship.SELF) != member.is_account_holder
    ):
        raise Conflict(
            _("The account holder cannot be changed to another relationship."),
            code="relationship_locked",
            fields={"relationship": [_("This relationship cannot be changed.")]},
        )
    _check_abha_unique_in_family(member.account, data, exclude=member)
    for name, value in data.items():
        setattr(member, name, value)
    member.save()
    return member


def remove_family_member(*, member: Patient) -> None:
    """Members are archived, never deleted: their health records must survive."""
    if member.is_account_holder:
        raise Conflict(
            _("The account holder cannot be removed from the family."),
            code="account_holder_locked",
        )
    Patient.objects.filter(pk=member.pk, archived_at=None).update(archived_at=timezone.now())


def _check_abha_unique_in_family(
    account: User, data: dict[str, Any], *, exclude: Patient | None
) -> None:
    others = Patient.objects.filter(account=account, archived_at=None)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    fields: dict[str, list[str]] = {}
    if data.get("abha_number") and others.filter(abha_number=data["abha_number"]).exists():
        fields["abha_number"] = [_("Another member of your family has this ABHA number.")]
    if data.get("abha_address") and others.filter(abha_address=data["abha_address"]).exists():
        fields["abha_address"] = [_("Another member of your family has this ABHA address.")]
    if fields:
        raise Conflict(
            _("Each family member needs their own ABHA."), code="abha_taken", fields=fields
        )


def link_abha(*, member: Patient, abha_number: str, abha_address: str) -> Patient:
    """Set the member's ABHA, proven theirs by an OTP (the ``abdm`` app's link and create pages).
    Another member of the family with the same ABHA is a ``Conflict``; the same ABHA in another
    family is allowed (an elderly parent may be registered by two children)."""
    data = {"abha_number": abha_number, "abha_address": abha_address}
    with transaction.atomic():
        # Serialised per account, as additions are: two members cannot take one ABHA at once.
        User.objects.select_for_update().filter(pk=member.account_id).first()
        _check_abha_unique_in_family(member.account, data, exclude=member)
        updated = Patient.objects.filter(pk=member.pk, archived_at=None).update(
            **data, updated_at=timezone.now()
        )
    if not updated:
        raise Conflict(_("This family member was removed."), code="member_removed")
    member.abha_number, member.abha_address = abha_number, abha_address
    return member


def unlink_abha(*, member: Patient) -> Patient:
    Patient.objects.filter(pk=member.pk).update(
        abha_number="", abha_address="", updated_at=timezone.now()
    )
    member.abha_number = member.abha_address = ""
    return member
