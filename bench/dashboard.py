"""``python -m bench.dashboard``: the state dashboard from the rollups against the same figures
from the raw tables, over a generated year of consultations, as one JSON line.

Creates its own PostgreSQL database (dropped at the end unless ``--keep``); see bench/README.md
for what each number means. Logs go to stderr; stdout carries only the JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any

import psycopg
from psycopg import sql

from bench.environment import PG_ADMIN_DSN, BenchEnvironment
from bench.stats import load, ms, percentile

logger = logging.getLogger("bench")

TARGETS = {"rollup_p95_ms": ("<=", 50.0), "speedup": (">=", 100.0)}
RANGE_DAYS = 30


class DashboardEnvironment(BenchEnvironment):
    """The bench database without Redis (nothing here publishes); kept for ``--reuse``."""

    def __init__(self, db_name: str, *, reuse: bool, keep: bool) -> None:
        super().__init__(db_name=db_name, redis_url="")
        self.reuse = reuse
        self.keep = keep
        self.reused = False

    def start(self) -> None:
        if not self.db_name.startswith("esj_bench"):
            raise SystemExit(f"refusing to use database {self.db_name!r}: not a bench database")
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.db_name]
            ).fetchone()
        self.reused = self.reuse and exists is not None
        if not self.reused:
            self._create_database()
        self._export()
        os.environ["DATABASE_POOL"] = "0"  # one connection, no pool threads

    def stop(self) -> None:
        if self.keep or self.reuse:
            logger.info("kept database %s", self.db_name)
            return
        super().stop()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--db-name", default="esj_bench_dashboard")
    parser.add_argument("--consultations", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--patients", type=int, default=0, help="default: one for every five consultations"
    )
    parser.add_argument("--prescription-share", type=float, default=0.97)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--states", type=int, default=20, help="states measured")
    parser.add_argument("--rollup-repeats", type=int, default=5, help="per state")
    parser.add_argument("--raw-repeats", type=int, default=1, help="per state")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the database a --keep run left (skip generation if it holds a history); "
        "implies --keep",
    )
    parser.add_argument(
        "--rebuild-rollups",
        action="store_true",
        help="with --reuse: build the rollups again (after a change to dashboards.rollup_sql)",
    )
    return parser.parse_args(argv)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _timed(call: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    value = call()
    return time.perf_counter() - began, value


def _rollup_rows() -> dict[str, int]:
    from dashboards.rollups import ROLLUP_MODELS  # noqa: PLC0415

    return {model._meta.db_table: model.objects.count() for model in ROLLUP_MODELS}


def _generate(environment: DashboardEnvironment, args: argparse.Namespace) -> dict[str, Any]:
    from bench.history import HistorySpec, generate  # noqa: PLC0415
    from core.clock import india_today  # noqa: PLC0415

    spec = HistorySpec(
        consultations=args.consultations,
        days=args.days,
        last_day=india_today() - timedelta(days=1),
        patients=args.patients or max(1_000, args.consultations // 5),
        prescription_share=args.prescription_share,
        seed=args.seed,
    )
    logger.info(
        "generating %s consultations over %s days to %s",
        spec.consultations,
        spec.days,
        spec.last_day,
    )
    result = generate(environment.psycopg_dsn, spec)
    logger.info("generated in %.0f s", result["generation_s"])
    return result


def _build_rollups(first_day: date, last_day: date) -> float:
    from dashboards import rollups  # noqa: PLC0415

    logger.info("building rollups from %s to %s", first_day, last_day)
    elapsed, _ = _timed(partial(rollups.rebuild, first_day, last_day))
    logger.info("rollups built in %.0f s", elapsed)
    return round(elapsed, 1)


# What a --keep run generated, so a --reuse run can report it.
RUN_TABLE = "bench_dashboard_run"


def _save_run(dsn: str, figures: dict[str, Any]) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {RUN_TABLE} (figures jsonb NOT NULL)")
        conn.execute(f"DELETE FROM {RUN_TABLE}")
        conn.execute(
            f"INSERT INTO {RUN_TABLE} (figures) VALUES (%s)", [json.dumps(figures, default=str)]
        )


def _saved_run(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", [RUN_TABLE]).fetchone()
        if exists is None or exists[0] is None:
            return {}
        row = conn.execute(f"SELECT figures FROM {RUN_TABLE}").fetchone()
    return dict(row[0]) if row else {}


def _measure(args: argparse.Namespace, first_day: date, last_day: date) -> dict[str, Any]:
    from core.models import State  # noqa: PLC0415
    from dashboards.queries import trends  # noqa: PLC0415
    from dashboards.selectors import Scope  # noqa: PLC0415
    from tests.dashboards.raw import raw_trends  # noqa: PLC0415

    start = max(first_day, last_day - timedelta(days=RANGE_DAYS - 1))
    rng = random.Random(args.seed)
    states = rng.sample(list(State.objects.order_by("code")), min(args.states, 36))
    trends(Scope(states[0]), start, last_day)  # warm-up, once each
    raw_trends(Scope(states[0]), start, last_day)
    rollup_times: list[float] = []
    raw_times: list[float] = []
    mismatched: list[str] = []
    for state in states:
        scope = Scope(state)
        for _ in range(args.rollup_repeats):
            elapsed, from_rollups = _timed(partial(trends, scope, start, last_day))
            rollup_times.append(elapsed)
        for _ in range(max(1, args.raw_repeats)):
            elapsed, from_raw = _timed(partial(raw_trends, scope, start, last_day))
            raw_times.append(elapsed)
        if from_raw != from_rollups:
            mismatched.append(state.code)
        logger.info(
            "  %s: rollup %.1f ms, raw %.0f ms", state.code, rollup_times[-1] * 1000, elapsed * 1000
        )
    rollup_p95, raw_p95 = percentile(rollup_times, 95), percentile(raw_times, 95)
    return {
        "range": [start.isoformat(), last_day.isoformat()],
        "states_measured": [s.code for s in states],
        "rollup_samples": len(rollup_times),
        "raw_samples": len(raw_times),
        "rollup_p50_ms": ms(percentile(rollup_times, 50)),
        "rollup_p95_ms": ms(rollup_p95),
        "raw_p50_ms": ms(percentile(raw_times, 50)),
        "raw_p95_ms": ms(raw_p95),
        "speedup": round(raw_p95 / rollup_p95, 1) if rollup_p95 else None,
        "rollup_equals_raw": not mismatched,
        "mismatched_states": mismatched,
    }


def _database_facts(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()),"
            " (SELECT count(*) FROM queues_ticket),"
            " (SELECT count(*) FROM consultations_consultation),"
            " (SELECT count(*) FROM consultations_prescription),"
            " (SELECT min(service_date) FROM queues_ticket),"
            " (SELECT max(service_date) FROM queues_ticket)"
        ).fetchone()
        version = conn.execute(sql.SQL("SHOW server_version")).fetchone()
    assert row is not None and version is not None
    return {
        "db_size_mb": round(row[0] / 2**20),
        "tickets": row[1],
        "consultations": row[2],
        "prescriptions": row[3],
        "first_day": row[4],
        "last_day": row[5],
        "postgresql": version[0],
    }


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s bench %(message)s"
    )
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started = time.monotonic()
    environment = DashboardEnvironment(args.db_name, reuse=args.reuse, keep=args.keep)
    result: dict[str, Any] = {"load_at_start": load(), "cpus": os.cpu_count()}
    environment.start()
    try:
        import django  # noqa: PLC0415 - only after the environment is exported

        django.setup()
        # settings' LOGGING puts the root logger at WARNING; the rollups log each month built.
        for name in ("bench", "dashboards"):
            logging.getLogger(name).setLevel(logging.INFO)
        from django.core.management import call_command  # noqa: PLC0415

        # Every module the run uses, now: a later import could meet a newer version of a
        # file than the one its neighbours were loaded from.
        for module in (
            "dashboards.rollup_sql",
            "dashboards.slices",
            "dashboards.rollups",
            "dashboards.queries",
            "tests.dashboards.raw",
        ):
            importlib.import_module(module)
        from bench.history import history_bounds  # noqa: PLC0415

        call_command("migrate", verbosity=0)
        dsn = environment.psycopg_dsn
        bounds = history_bounds() if environment.reused else None
        if bounds is not None:
            logger.info("reusing the history in %s", args.db_name)
            result.update(_saved_run(dsn), reused=True)
            if args.rebuild_rollups:
                result["rollup_build_s"] = _build_rollups(*bounds)
        else:
            result.update(_generate(environment, args))
            bounds = history_bounds()
            assert bounds is not None
            result["rollup_build_s"] = _build_rollups(*bounds)
        if args.keep or args.reuse:
            _save_run(dsn, {k: v for k, v in result.items() if not k.startswith("load")})
        facts = _database_facts(dsn)
        rows = _rollup_rows()
        result["rollup_rows"] = rows
        result["rollup_rows_per_consultation"] = round(
            sum(rows.values()) / max(facts["consultations"], 1), 3
        )
        result.update(_measure(args, facts.pop("first_day"), facts.pop("last_day")))
        result.update(facts)
    finally:
        from django.db import connections  # noqa: PLC0415

        connections.close_all()
        environment.stop()
    result["targets"] = {name: f"{op} {limit:g}" for name, (op, limit) in TARGETS.items()}
    result["met"] = {
        name: result.get(name) is not None
        and (result[name] <= limit if op == "<=" else result[name] >= limit)
        for name, (op, limit) in TARGETS.items()
    }
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["load_at_end"] = load()
    print(json.dumps(result, separators=(",", ":"), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
