"""Claimer processes: the real ``claim_next_ticket`` service, and the raw SKIP LOCKED loop.

Each runs in its own process (started with ``spawn``): with threads the GIL would make the bench
measure Python, not the database. Django is set up inside the child, so this module imports
nothing from the project at the top.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
import traceback
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.environment import die_with_parent

# After each claim the doctor finishes at once so they can claim again (not timed). The CTE
# reads the snapshot before the update: the doctor must hold exactly the one ticket just claimed.
COMPLETE_SQL = """
WITH done AS (
    UPDATE queues_ticket
    SET status = 'completed', consult_ended_at = now(), status_changed_at = now()
    WHERE id = %s AND status = 'offered'
    RETURNING id
)
SELECT
    (SELECT count(*) FROM done),
    (SELECT count(*) FROM queues_ticket
     WHERE doctor_id = %s AND status IN ('offered', 'called', 'in_consultation'))
"""

RAW_SELECT = """
SELECT id FROM queues_ticket
WHERE opd_id = %s AND status = 'waiting'
ORDER BY priority DESC, seq
LIMIT 1
FOR UPDATE SKIP LOCKED
"""

RAW_UPDATE = """
UPDATE queues_ticket
SET status = 'offered', doctor_id = %s, offer_expires_at = now() + interval '60 seconds',
    status_changed_at = now()
WHERE id = %s
"""


@dataclass
class WorkerSpec:
    index: int
    doctor_id: int
    opd_id: int
    dsn: str
    target: int
    seconds: float = 0.0  # stop early after this long (0: run to the target)
    profile: bool = False
    what_if: str = ""


@dataclass
class WorkerResult:
    index: int
    latencies: list[float] = field(default_factory=list)
    claimed: list[int] = field(default_factory=list)
    held_violations: int = 0
    empty_claims: int = 0
    started: float = 0.0
    finished: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time in the claim loop (Python side)
    profile: str = ""
    error: str = ""


def _take_slot(counter: Any, target: int, deadline: float) -> bool:
    if deadline and time.time() > deadline:
        return False
    with counter.get_lock():
        if counter.value >= target:
            return False
        counter.value += 1
        return True


def _give_back_slot(counter: Any) -> None:
    with counter.get_lock():
        counter.value -= 1


def _profiled(spec: WorkerSpec) -> cProfile.Profile | None:
    return cProfile.Profile() if spec.profile else None


def _profile_text(profiler: cProfile.Profile | None) -> str:
    if profiler is None:
        return ""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


MAX_EMPTY = 100  # a claimer that finds nothing this often in a row gives up


def _claim_loop(
    spec: WorkerSpec,
    counter: Any,
    result: WorkerResult,
    claim: Callable[[], int | None],
    complete: Callable[[int], bool],
) -> None:
    """Claim (timed) and complete (not timed) until the target or the deadline is reached."""
    latencies = array("d")
    claimed = array("q")
    profiler = _profiled(spec)
    result.started = time.time()
    deadline = result.started + spec.seconds if spec.seconds else 0.0
    cpu_start = time.process_time()
    empty = 0
    while _take_slot(counter, spec.target, deadline):
        if profiler is not None:
            profiler.enable()
        t0 = time.perf_counter()
        ticket_id = claim()
        elapsed = time.perf_counter() - t0
        if profiler is not None:
            profiler.disable()
        if ticket_id is None:
            result.empty_claims += 1
            _give_back_slot(counter)
            empty += 1
            if empty >= MAX_EMPTY:
                break
            continue
        empty = 0
        latencies.append(elapsed)
        claimed.append(ticket_id)
        if not complete(ticket_id):
            result.held_violations += 1
    result.finished = time.time()
    result.cpu_seconds = time.process_time() - cpu_start
    result.latencies = latencies.tolist()
    result.claimed = claimed.tolist()
    result.profile = _profile_text(profiler)


def service_worker(spec: WorkerSpec, counter: Any, barrier: Any, results: Any) -> None:
    """Claim through ``queues.services.dispatch.claim_next_ticket`` until the target is met."""
    result = WorkerResult(spec.index)
    die_with_parent()
    try:
        import django  # noqa: PLC0415 - set up in this child process, before any model import

        django.setup()
        from django.db import connection, connections  # noqa: PLC0415

        from providers.models import Doctor  # noqa: PLC0415
        from queues.services import dispatch  # noqa: PLC0415

        connections.close_all()  # nothing inherited: every claimer has its own connection
        if spec.what_if:
            from bench import what_if  # noqa: PLC0415

            what_if.apply(spec.what_if)
        claim_next_ticket = dispatch.claim_next_ticket
        doctor = Doctor.objects.get(pk=spec.doctor_id)
        cursor = connection.cursor()

        def claim() -> int | None:
            ticket = claim_next_ticket(doctor)
            return None if ticket is None else int(ticket.pk)

        def complete(ticket_id: int) -> bool:
            cursor.execute(COMPLETE_SQL, [ticket_id, spec.doctor_id])
            return tuple(cursor.fetchone()) == (1, 1)

        barrier.wait()
        _claim_loop(spec, counter, result, claim, complete)
        connections.close_all()
    except BaseException:
        result.error = traceback.format_exc()
        barrier.abort()
    results.put(result)


def raw_worker(spec: WorkerSpec, counter: Any, barrier: Any, results: Any) -> None:
    """The floor: BEGIN; SELECT … FOR UPDATE SKIP LOCKED LIMIT 1; UPDATE; COMMIT."""
    result = WorkerResult(spec.index)
    die_with_parent()
    try:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(spec.dsn, autocommit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("SELECT 1")

            def claim() -> int | None:
                with conn.transaction():
                    row = cursor.execute(RAW_SELECT, (spec.opd_id,)).fetchone()
                    if row is not None:
                        cursor.execute(RAW_UPDATE, (spec.doctor_id, row[0]))
                return None if row is None else int(row[0])

            def complete(ticket_id: int) -> bool:
                row = cursor.execute(COMPLETE_SQL, (ticket_id, spec.doctor_id)).fetchone()
                return row == (1, 1)

            barrier.wait()
            _claim_loop(spec, counter, result, claim, complete)
    except BaseException:
        result.error = traceback.format_exc()
        barrier.abort()
    results.put(result)
