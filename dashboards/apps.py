from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = _("Dashboards")

    def ready(self) -> None:
        # The waiting room knows nothing of dashboards: they subscribe to its changes.
        from dashboards import events  # noqa: PLC0415
        from queues.signals import opd_changed  # noqa: PLC0415

        opd_changed.connect(events.nudge_live_dashboards, dispatch_uid=events.DISPATCH_UID)
