from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand

from queues.sweeper import run_forever


class Command(BaseCommand):
    help = "Enforce the waiting room's deadlines (CALL NOW, grace periods) in a loop."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Queue sweeper running; Ctrl-C stops.")
        asyncio.run(run_forever())
