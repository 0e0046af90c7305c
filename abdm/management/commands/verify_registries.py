"""``manage.py verify_registries``: check every doctor's HPR id and every facility's HFR id in
ABDM's registries and keep the outcome (docs/abdm.md, "HPR and HFR checks")."""

from __future__ import annotations

from argparse import ArgumentParser
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from abdm import registry_services
from providers.models import RegistryStatus


def _summary(counts: Counter[RegistryStatus]) -> str:
    return ", ".join(f"{counts[s]} {s.value}" for s in RegistryStatus if s and counts[s]) or "none"


class Command(BaseCommand):
    help = "Check doctors' HPR ids and facilities' HFR ids in ABDM's registries."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--doctors", action="store_true", help="Only doctors (HPR).")
        parser.add_argument("--facilities", action="store_true", help="Only facilities (HFR).")

    def handle(self, *args: Any, **options: Any) -> None:
        both = not options["doctors"] and not options["facilities"]
        try:
            if both or options["doctors"]:
                counts = registry_services.verify_doctors(registry_services.doctors_with_hpr_id())
                self.stdout.write(f"Doctors (HPR): {_summary(counts)}")
            if both or options["facilities"]:
                counts = registry_services.verify_facilities(registry_services.all_facilities())
                self.stdout.write(f"Facilities (HFR): {_summary(counts)}")
        except registry_services.RegistryUnavailable as exc:
            raise CommandError(f"ABDM's registry cannot be reached: {exc}") from exc
