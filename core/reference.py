"""Loading reference data (states, districts, languages) from CSV.

The same functions serve the data migration (with historical models) and the
``import_districts`` command, so a state's districts arrive the same way either way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
STATE_COLUMNS = ("lgd_code", "code", "iso_code", "name", "name_hi", "kind")
DISTRICT_COLUMNS = ("state_code", "lgd_code", "name", "name_hi")
LANGUAGE_COLUMNS = ("code", "name", "native_name")
STATE_LANGUAGE_COLUMNS = ("state_code", "language_code")


class ReferenceDataError(ValueError):
    """A reference file that cannot be loaded as a whole; nothing of it was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def read_rows(path: Path, columns: Iterable[str]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(columns) - set(reader.fieldnames or [])
        if missing:
            raise ReferenceDataError([f"missing columns: {', '.join(sorted(missing))}"])
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _upsert(model: Any, key: str, rows: list[dict[str, Any]]) -> ImportResult:
    result = ImportResult()
    existing = {getattr(obj, key): obj for obj in model.objects.all()}
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            model.objects.create(**row)
            result.created += 1
            continue
        changed = [name for name, value in row.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, row[name])
            obj.save(update_fields=changed)
            result.updated += 1
        else:
            result.unchanged += 1
    return result


def load_states(state_model: Any, path: Path = DATA_DIR / "states.csv") -> ImportResult:
    rows = [{**row, "lgd_code": int(row["lgd_code"])} for row in read_rows(path, STATE_COLUMNS)]
    return _upsert(state_model, "lgd_code", rows)


def load_languages(language_model: Any, path: Path = DATA_DIR / "languages.csv") -> ImportResult:
    return _upsert(language_model, "code", read_rows(path, LANGUAGE_COLUMNS))


def clean_district_rows(state_model: Any, raw_rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Check every row before anything is written; report all problems at once."""
    states = {state.code: state for state in state_model.objects.all()}
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for line, raw in enumerate(raw_rows, start=2):
        state = states.get(raw["state_code"].upper())
        if state is None:
            problems.append(f"line {line}: unknown state code {raw['state_code']!r}")
        if not raw["lgd_code"].isdigit():
            problems.append(f"line {line}: LGD code must be a positive number")
            continue
        lgd_code = int(raw["lgd_code"])
        if lgd_code in seen:
            problems.append(f"line {line}: LGD code {lgd_code} appears twice")
        seen.add(lgd_code)
        if not raw["name"]:
            problems.append(f"line {line}: name is empty")
        rows.append(
            {"state": state, "lgd_code": lgd_code, "name": raw["name"], "name_hi": raw["name_hi"]}
        )
    if problems:
        raise ReferenceDataError(problems)
    return rows


def load_districts(
    state_model: Any, district_model: Any, path: Path = DATA_DIR / "districts.csv"
) -> ImportResult:
    rows = clean_district_rows(state_model, read_rows(path, DISTRICT_COLUMNS))
    return _upsert(district_model, "lgd_code", rows)


@cache
def state_languages(path: Path = DATA_DIR / "state_languages.csv") -> dict[str, str]:
    """Each state's or UT's main spoken language among ours (state code → language code).

    Fixed data that only a release changes, so it is read from the file, not stored.
    """
    return {
        row["state_code"]: row["language_code"] for row in read_rows(path, STATE_LANGUAGE_COLUMNS)
    }
