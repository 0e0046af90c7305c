from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = _("Patients")

    def ready(self) -> None:
        # Accounts sits below patients: it learns here how a patient account is named.
        from accounts import holders  # noqa: PLC0415
        from patients.selectors import account_holder_name  # noqa: PLC0415

        holders.provide(account_holder_name)
