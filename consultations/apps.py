from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

DISPATCH_UID = "consultations.services.consultation_started"


class ConsultationsConfig(AppConfig):
    name = "consultations"
    verbose_name = _("Consultations")

    def ready(self) -> None:
        # The waiting room knows nothing of consultations: the record opens when it says a
        # consultation started.
        from consultations import services  # noqa: PLC0415
        from queues.signals import consultation_started  # noqa: PLC0415

        consultation_started.connect(services.consultation_started, dispatch_uid=DISPATCH_UID)
