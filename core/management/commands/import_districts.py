from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.models import District, State
from core.reference import ReferenceDataError, load_districts


class Command(BaseCommand):
    help = (
        "Add or update districts from a CSV file with the columns "
        "state_code,lgd_code,name,name_hi. The whole file is checked first; "
        "a file with any bad row changes nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("csv_path", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report, write nothing."
        )

    def handle(self, *args: Any, csv_path: Path, dry_run: bool, **options: Any) -> None:
        if not csv_path.is_file():
            raise CommandError(f"No such file: {csv_path}")
        try:
            with transaction.atomic():
                result = load_districts(State, District, csv_path)
                if dry_run:
                    transaction.set_rollback(True)
        except ReferenceDataError as exc:
            raise CommandError("Nothing was imported:\n  " + "\n  ".join(exc.problems)) from exc
        prefix = "Dry run: would have " if dry_run else ""
        self.stdout.write(
            f"{prefix}created {result.created}, updated {result.updated}, "
            f"unchanged {result.unchanged} districts."
        )
