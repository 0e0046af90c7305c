"""What the machine and PostgreSQL were doing while a phase ran: CPU use and wait events."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg


def _cpu_times() -> list[int]:
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    return [int(x) for x in first[1:]]


class CpuUse:
    """Whole-machine CPU use between ``start()`` and ``stop()``, in percent of all cores."""

    def __init__(self) -> None:
        self.before: list[int] = []
        self.result: dict[str, float] = {}

    def __enter__(self) -> CpuUse:
        self.before = _cpu_times()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        after = _cpu_times()
        delta = [b - a for a, b in zip(self.before, after, strict=False)]
        total = sum(delta) or 1
        # user nice system idle iowait irq softirq steal …
        idle, iowait = delta[3], delta[4]
        steal = delta[7] if len(delta) > 7 else 0
        self.result = {
            "busy_pct": round(100 * (total - idle - iowait - steal) / total, 1),
            "iowait_pct": round(100 * iowait / total, 1),
            "steal_pct": round(100 * steal / total, 1),
        }


class PgWaits(threading.Thread):
    """Samples the bench database's active backends every ``interval`` seconds.

    Each sample counts backends by wait event (``CPU`` when active and not waiting): a rough
    picture of where the database's time went.
    """

    def __init__(self, dsn: str, db_name: str, interval: float = 0.02) -> None:
        super().__init__(daemon=True, name="pg-waits")
        self.dsn = dsn
        self.db_name = db_name
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop_event.is_set():
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')"
                    " FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
                    " AND pid <> pg_backend_pid()",
                    (self.db_name,),
                ).fetchall()
                self.counts.update(row[0] for row in rows)
                self.samples += 1
                time.sleep(self.interval)

    def __enter__(self) -> PgWaits:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def summary(self, top: int = 6) -> dict[str, Any]:
        """Average number of active backends per wait event (the top few)."""
        if not self.samples:
            return {}
        return {
            event: round(count / self.samples, 2) for event, count in self.counts.most_common(top)
        }
