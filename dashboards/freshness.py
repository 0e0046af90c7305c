"""How fresh a dashboard's figures are: "updated 32 s ago", with the exact time in IST.

The page is rendered with the words; static/js/dashboard.js keeps them current with a timer
(and, for the live panel, with every frame of the live socket), filling in the same translated
sentences the server used, which the page carries in data attributes: one source for both.
Units are abbreviated ("s", "min"), so no sentence needs a plural form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.clock import IST

FIGURES = {
    "seconds": _("Figures for today were updated {seconds} s ago."),
    "minutes": _("Figures for today were updated {minutes} min ago."),
    "exact": _("Figures for today were updated at {time}, Indian Standard Time."),
}
LIVE = {
    "seconds": _("Updated {seconds} s ago."),
    "minutes": _("Updated {minutes} min ago."),
    "exact": _("Updated at {time}, Indian Standard Time."),
}


@dataclass(frozen=True)
class Freshness:
    at: datetime  # when the figures were read (aware)
    age_seconds: int  # how old they were when the page was rendered
    texts: dict[str, str]

    @classmethod
    def of(
        cls, at: datetime, texts: Mapping[str, str | Promise], *, now: datetime | None = None
    ) -> Freshness:
        age = int(((now or timezone.now()) - at).total_seconds())
        return cls(at, max(age, 0), {key: str(text) for key, text in texts.items()})

    @property
    def at_ist(self) -> str:
        return self.at.astimezone(IST).isoformat(timespec="seconds")

    @property
    def age_text(self) -> str:
        if self.age_seconds < 60:
            return self.texts["seconds"].replace("{seconds}", str(self.age_seconds))
        return self.texts["minutes"].replace("{minutes}", str(self.age_seconds // 60))

    @property
    def exact_text(self) -> str:
        return self.texts["exact"].replace("{time}", self.at.astimezone(IST).strftime("%H:%M:%S"))
