"""What the page, CSV, API and socket tests share: the month of visits rolled up, and the
range of days it covers."""

from __future__ import annotations

from accounts.models import User
from dashboards import rollups
from patients.models import Patient
from tests.dashboards.conftest import FIRST_DAY, LAST_DAY, NOW

RANGE = {"start": FIRST_DAY.isoformat(), "end": LAST_DAY.isoformat()}


def roll_up() -> None:
    """Put the conftest's ten days of visits in the rollup tables the dashboards read."""
    rollups.refresh_slices(rollups.slices_between(FIRST_DAY, LAST_DAY, now=NOW), now=NOW)


def outsider_accounts(family: Patient, doctor_user: User) -> dict[str, User]:
    """Signed-in accounts that must see no dashboard at all."""
    return {"patient": family.account, "doctor": doctor_user}
