"""Priority claims: who is seen first, and on what grounds. Pure rules, no database.

- **Aged 60 or more** (``senior``): from the member's date of birth on record (or the age the
  family gave when the date is not known), never from a tick box. Every member of that age gets
  it without asking.
- **Pregnant**: declared by the family, for a member recorded as female or other (never male)
  and aged 12 to 55 on the day of booking.
- **Person with disability**: declared by the family. Nothing on record can confirm it, so the
  ticket records who declared it and when, and the doctor sees that it was declared.

A claim the record contradicts is refused with a message on the ``priority_reason`` field,
before anything is written.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from patients.models import Sex
from queues.models import Ticket

SENIOR_AGE = 60
PREGNANCY_AGES = (12, 55)

Claim = Ticket.PriorityReason
DECLARED = (Claim.PREGNANT, Claim.DISABILITY)  # the family's word, recorded with its author
# What a family may ask for: seniors are recognised from the record, so asking is only checked.
CLAIMS = (Claim.SENIOR, *DECLARED)


def refusal(claim: str, *, sex: str, age: int) -> str | None:
    """Why the member's record rules ``claim`` out, or ``None`` when it may stand."""
    if claim == Claim.SENIOR and age < SENIOR_AGE:
        return _(
            "Priority for age starts at %(age)d years, by the date of birth or age on record."
        ) % {"age": SENIOR_AGE}
    if claim == Claim.PREGNANT:
        if sex == Sex.MALE:
            return _("Pregnancy cannot be claimed for a member recorded as male.")
        low, high = PREGNANCY_AGES
        if not low <= age <= high:
            return _(
                "Pregnancy can be claimed for members aged %(low)d to %(high)d years "
                "by the date of birth or age on record."
            ) % {"low": low, "high": high}
    return None


def declarable(*, sex: str, age: int) -> list[str]:
    """The claims a family may declare for this member (the booking form offers these)."""
    return [claim for claim in DECLARED if refusal(claim, sex=sex, age=age) is None]


def basis(ticket: Ticket) -> str:
    """What a ticket's priority rests on, as the doctor should read it: ``declared`` by the
    family, the ``date_of_birth`` or the ``age`` on record; empty without priority."""
    if not ticket.priority_reason:
        return ""
    if ticket.priority_reason in DECLARED:
        return "declared"
    return "age" if ticket.patient.dob_is_estimated else "date_of_birth"
