from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Reference data")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out  # noqa: PLC0415

        from core.socket_sessions import close_sockets_on_sign_out  # noqa: PLC0415

        user_logged_out.connect(close_sockets_on_sign_out, dispatch_uid="core.socket_sessions")
