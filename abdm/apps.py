from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

DISPATCH_UID = "abdm.linking.prescription_finalised"


class AbdmConfig(AppConfig):
    """The Ayushman Bharat Digital Mission link: the service as a Health Information Provider
    (care contexts, consent, encrypted health-information pushes) and the ABHA flows a family
    needs. It talks to ABDM's gateway, or to the offline gateway in ``abdm_gateway/``, through
    one client (``abdm.client``)."""

    name = "abdm"
    verbose_name = _("ABDM")

    def ready(self) -> None:
        # Flow handlers register themselves with abdm.inbound on import.
        from abdm import share  # noqa: F401, PLC0415

        # Providers' admin offers a list of actions; checking in ABDM's registries joins it.
        from abdm.admin import offer_registry_checks  # noqa: PLC0415

        offer_registry_checks()
        # The apps below know nothing of ABDM: it registers its callback handlers, listens for
        # signed prescriptions and adds its section to the family's history page.
        from abdm import handlers, history, linking  # noqa: F401, PLC0415
        from consultations.history_sections import add_history_section  # noqa: PLC0415
        from consultations.signals import prescription_finalised  # noqa: PLC0415

        prescription_finalised.connect(linking.prescription_finalised, dispatch_uid=DISPATCH_UID)
        add_history_section(history.abdm_section)
