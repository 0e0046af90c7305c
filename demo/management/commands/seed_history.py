"""Demo history for ``make run``: finished visits over the past weeks in a few states, and the
rollups built from them, so the dashboards have something to show. Does nothing when the
database already holds visits from before today (demo or real): it never mixes made-up
history into a real one, and running it again adds nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Max, Min

from core.clock import india_today
from dashboards import rollups
from dashboards.models import DayStats
from demo.history import DemoHistory
from queues.models import Ticket


class Command(BaseCommand):
    help = "Write made-up past visits for the demo and build the dashboards' rollups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=60, help="days before today")
        parser.add_argument(
            "--per-day",
            type=int,
            default=40,
            help="visits on a weekday in the demo state (UP); other states get fewer",
        )
        parser.add_argument("--seed", type=int, default=1, help="same seed, same history")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1 or options["per_day"] < 1:
            raise CommandError("--days and --per-day must be at least 1.")
        today = india_today()
        past = Ticket.objects.filter(service_date__lt=today)
        if past.exists():
            self.stdout.write("Visits before today exist: no demo history added.")
            if not DayStats.objects.exists():  # e.g. a database from before the dashboards
                bounds = past.aggregate(first=Min("service_date"), last=Max("service_date"))
                rollups.rebuild(bounds["first"], bounds["last"])
                self.stdout.write("Built the dashboards' rollups for them.")
            return
        first, last = today - timedelta(days=options["days"]), today - timedelta(days=1)
        with transaction.atomic():
            written = DemoHistory(
                first, last, per_day=options["per_day"], seed=options["seed"]
            ).write()
        rollups.rebuild(first, last)
        self.stdout.write(
            f"Demo history: {written['tickets']} visits ({written['consultations']} "
            f"consultations) of {written['patients']} patients in {written['states']} states, "
            f"{first:%d %b} to {last:%d %b %Y}."
        )
