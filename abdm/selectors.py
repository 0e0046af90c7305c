"""What the pages read of ABDM's records: a family's care contexts, consents and shares (the
caller passes the account's family; nothing here widens it), and which counters' Scan & Share QR
codes an administrator may see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet

from abdm.models import CareContext, Consent, Share
from accounts.models import User
from patients.models import Patient
from queues.models import Opd


@dataclass
class MemberRecords:
    patient: Patient
    contexts: list[CareContext] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    shares: list[Share] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        return bool(
            self.patient.abha_number or self.patient.abha_address or self.contexts
            or self.consents or self.shares
        )  # fmt: skip


def records_of(members: Sequence[Patient]) -> list[MemberRecords]:
    """Per member, in the family's order: three queries, whatever the family's size."""
    by_member = {m.pk: MemberRecords(m) for m in members}
    contexts = (
        CareContext.objects.filter(patient_id__in=by_member)
        .select_related("consultation")
        .order_by("-consultation__started_at")
    )
    for context in contexts:
        by_member[context.patient_id].contexts.append(context)
    for consent in Consent.objects.filter(patient_id__in=by_member).order_by("-received_at"):
        assert consent.patient_id is not None
        by_member[consent.patient_id].consents.append(consent)
    shares = (
        Share.objects.filter(care_context__patient_id__in=by_member)
        .select_related("care_context", "request")
        .order_by("-shared_at")
    )
    for share in shares:
        by_member[share.care_context.patient_id].shares.append(share)
    return [records for records in by_member.values() if records.shown]


def counter_opds_for(user: User) -> QuerySet[Opd]:
    """A national administrator: every OPD; a state administrator: their state's; else none."""
    opds = Opd.objects.select_related("state").order_by("state__name", "name")
    if user.is_national_admin:
        return opds
    if user.is_state_admin and user.state_id is not None:
        return opds.filter(state_id=user.state_id)
    return opds.none()


def counter_opd_for(user: User, public_id: uuid.UUID) -> Opd | None:
    return counter_opds_for(user).filter(public_id=public_id).first()
