"""Part 1: claims per second through ``claim_next_ticket`` against a raw SKIP LOCKED loop."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg

from bench import seed
from bench.claim_workers import WorkerResult, WorkerSpec, raw_worker, service_worker
from bench.sampling import CpuUse, PgWaits
from bench.stats import load, ms, percentile

logger = logging.getLogger("bench")

START_METHOD = "spawn"  # a fresh interpreter per claimer: no inherited connections or locks
PHASE_TIMEOUT = 600.0


def _run_phase(
    worker: Callable[..., None],
    *,
    dsn: str,
    opd_id: int,
    doctor_ids: list[int],
    target: int,
    seconds: float,
    profile: bool = False,
    what_if: str = "",
) -> tuple[list[WorkerResult], float, dict[str, Any]]:
    ctx: Any = mp.get_context(START_METHOD)
    counter: Any = ctx.Value("l", 0)
    barrier: Any = ctx.Barrier(len(doctor_ids) + 1)
    results: Any = ctx.Queue()
    processes = [
        ctx.Process(
            target=worker,
            args=(
                WorkerSpec(
                    i,
                    doctor_id,
                    opd_id,
                    dsn,
                    target,
                    seconds=seconds,
                    profile=profile and i == 0,
                    what_if=what_if,
                ),
                counter,
                barrier,
                results,
            ),
            name=f"claimer-{i}",
        )
        for i, doctor_id in enumerate(doctor_ids)
    ]
    for process in processes:
        process.start()
    try:
        with CpuUse() as cpu, PgWaits(dsn, dsn.rsplit("/", 1)[1]) as waits:
            # A claimer that fails while starting breaks the barrier; its result says why.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=120)
            collected = _collect(results, processes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    errors = [r.error for r in collected if r.error]
    if errors:
        raise RuntimeError("a claimer failed:\n" + "\n".join(errors))
    wall = max(r.finished for r in collected) - min(r.started for r in collected)
    return collected, wall, {"machine_cpu": cpu.result, "db_active_backends": waits.summary()}


def _collect(results: Any, processes: list[Any]) -> list[WorkerResult]:
    """Every claimer's result; fails fast if a claimer died without reporting."""
    collected: list[WorkerResult] = []
    deadline = time.monotonic() + PHASE_TIMEOUT
    while len(collected) < len(processes):
        try:
            collected.append(results.get(timeout=1.0))
        except queue.Empty:
            dead = [p.name for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"claimer(s) died: {', '.join(dead)}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"claimers still running after {PHASE_TIMEOUT}s") from None
    return collected


def _summary(results: list[WorkerResult], wall: float, seen: dict[str, Any]) -> dict[str, Any]:
    latencies = [x for r in results for x in r.latencies]
    claimed = [t for r in results for t in r.claimed]
    duplicates = sum(n - 1 for n in Counter(claimed).values() if n > 1)
    return {
        "claims": len(claimed),
        "claims_per_s": round(len(claimed) / wall, 1) if wall > 0 else 0.0,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(max(latencies, default=0.0)),
        "duration_s": round(wall, 2),
        "duplicate_claims": duplicates,
        "held_violations": sum(r.held_violations for r in results),
        "empty_claims": sum(r.empty_claims for r in results),
        "per_worker": [len(r.claimed) for r in results],
        "claimer_cpu_ms_per_claim": (
            round(1000 * sum(r.cpu_seconds for r in results) / len(claimed), 2) if claimed else 0
        ),
        **seen,
    }


def _tickets_offered_twice(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM (SELECT ticket_id FROM queues_ticketevent"
            " WHERE kind = 'offered' GROUP BY ticket_id HAVING count(*) > 1) twice"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _what_if_phase(
    dsn: str,
    patients: seed.Patients,
    name: str,
    *,
    code: str,
    tickets: int,
    claims: int,
    workers: int,
    seconds: float,
) -> dict[str, Any]:
    opd = seed.make_opd(code)
    seed.copy_waiting_tickets(dsn, opd, patients, tickets)
    doctor_ids = seed.make_doctors(workers, on_duty=[opd])
    seed.vacuum_tickets(dsn)
    results, wall, seen = _run_phase(
        service_worker,
        dsn=dsn,
        opd_id=opd.pk,
        doctor_ids=doctor_ids,
        target=claims,
        seconds=seconds,
        what_if=name,
    )
    summary = _summary(results, wall, seen)
    logger.info("what if %s: %s", name, summary)
    return {
        key: summary[key]
        for key in (
            "claims",
            "claims_per_s",
            "p50_ms",
            "p99_ms",
            "duplicate_claims",
            "claimer_cpu_ms_per_claim",
            "machine_cpu",
            "db_active_backends",
        )
    }


def run(
    dsn: str,
    *,
    tickets: int,
    claims: int,
    workers: int,
    seconds: float,
    profile: bool,
    what_ifs: list[str],
    what_if_claims: int,
) -> tuple[dict[str, Any], seed.Patients]:
    t_seed = time.monotonic()
    patients = seed.copy_patients(dsn, tickets)
    service_opd = seed.make_opd("BS")
    raw_opd = seed.make_opd("BR")
    seed.copy_waiting_tickets(dsn, service_opd, patients, tickets)
    seed.copy_waiting_tickets(dsn, raw_opd, patients, tickets)
    doctor_ids = seed.make_doctors(workers, on_duty=[service_opd])
    seed.vacuum_tickets(dsn)
    seed_s = time.monotonic() - t_seed
    logger.info("seeded %s patients and 2 x %s tickets in %.1fs", tickets, tickets, seed_s)

    load_before = load()
    service_results, service_wall, service_seen = _run_phase(
        service_worker,
        dsn=dsn,
        opd_id=service_opd.pk,
        doctor_ids=doctor_ids,
        target=claims,
        seconds=seconds,
        profile=profile,
    )
    service = _summary(service_results, service_wall, service_seen)
    service["offered_twice"] = _tickets_offered_twice(dsn)
    load_service = load()
    logger.info("service: %s", service)
    if profile:
        profiled = next(r for r in service_results if r.index == 0)
        print(profiled.profile, file=sys.stderr)

    seed.vacuum_tickets(dsn)
    raw_results, raw_wall, raw_seen = _run_phase(
        raw_worker,
        dsn=dsn,
        opd_id=raw_opd.pk,
        doctor_ids=doctor_ids,
        target=claims,
        seconds=seconds,
    )
    raw = _summary(raw_results, raw_wall, raw_seen)
    logger.info("raw: %s", raw)

    what_if = {
        name: _what_if_phase(
            dsn,
            patients,
            name,
            code=f"W{i}",
            tickets=min(tickets, what_if_claims * 2),
            claims=what_if_claims,
            workers=workers,
            seconds=seconds,
        )
        for i, name in enumerate(what_ifs)
    }

    double = service["offered_twice"] + service["duplicate_claims"] + service["held_violations"]
    return {
        "claim_workers": workers,
        "claim_workers_kind": f"processes ({START_METHOD})",
        "tickets": tickets,
        "claims_target": claims,
        "claim_seconds_cap": seconds or None,
        "claims": service["claims"],
        "claims_per_s": service["claims_per_s"],
        "claim_p50_ms": service["p50_ms"],
        "claim_p99_ms": service["p99_ms"],
        "claim_max_ms": service["max_ms"],
        "claim_duration_s": service["duration_s"],
        "claims_per_worker": service["per_worker"],
        "claimer_cpu_ms_per_claim": service["claimer_cpu_ms_per_claim"],
        "claim_machine_cpu": service["machine_cpu"],
        "claim_db_active_backends": service["db_active_backends"],
        "empty_claims": service["empty_claims"],
        "double_assignments": double,
        "double_assignment_detail": {
            "tickets_offered_twice": service["offered_twice"],
            "tickets_claimed_twice": service["duplicate_claims"],
            "doctor_holding_two": service["held_violations"],
        },
        "raw_claims": raw["claims"],
        "raw_claims_per_s": raw["claims_per_s"],
        "raw_claim_p50_ms": raw["p50_ms"],
        "raw_claim_p99_ms": raw["p99_ms"],
        "raw_claim_duration_s": raw["duration_s"],
        "raw_claimer_cpu_ms_per_claim": raw["claimer_cpu_ms_per_claim"],
        "raw_claim_machine_cpu": raw["machine_cpu"],
        "raw_claim_db_active_backends": raw["db_active_backends"],
        "raw_double_assignments": raw["duplicate_claims"] + raw["held_violations"],
        "ratio_vs_raw": (
            round(service["claims_per_s"] / raw["claims_per_s"], 3) if raw["claims_per_s"] else 0
        ),
        **({"what_if": what_if} if what_if else {}),
        "seed_s": round(seed_s, 1),
        "load_during_claims": load_service,
        "load_before_claims": load_before,
        "load_during_raw_claims": load(),
    }, patients
