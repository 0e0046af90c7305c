"""Doctor and facility workflows that other apps start with plain values."""

from __future__ import annotations

from datetime import datetime

from providers.models import Doctor, Facility, RegistryStatus


def record_hpr_check(*, doctor_id: int, hpr_id: str, status: RegistryStatus, at: datetime) -> bool:
    """Keep what the HPR said about a doctor's ``hpr_id``. Ignored (False) when the doctor's HPR
    id changed while the registry was asked: the answer was about the old one."""
    return bool(
        Doctor.objects.filter(pk=doctor_id, hpr_id=hpr_id).update(
            hpr_status=status, hpr_verified_at=at
        )
    )


def record_hfr_check(
    *, facility_id: int, hfr_id: str, status: RegistryStatus, at: datetime
) -> bool:
    """Keep what the HFR said about a facility's ``hfr_id`` (as ``record_hpr_check``)."""
    return bool(
        Facility.objects.filter(pk=facility_id, hfr_id=hfr_id).update(
            hfr_status=status, hfr_verified_at=at
        )
    )
