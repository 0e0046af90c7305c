"""What a family sees of its ABDM records: the care contexts, consents and shares of its own
members (the caller passes the account's family; nothing here widens it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from abdm.models import CareContext, Consent, Share
from patients.models import Patient


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
