"""``python -m bench.queue``: claims per second and waiting-room fan-out, as one JSON line.

Creates and drops its own PostgreSQL database and runs a private Redis; see bench/README.md
for what each number means. Logs go to stderr; stdout carries only the JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from typing import Any

from bench.environment import BenchEnvironment, raise_open_files_limit
from bench.stats import load
from bench.what_if import NAMES

logger = logging.getLogger("bench")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__)
    parser.add_argument("--db-name", default="esj_bench_queue")
    parser.add_argument(
        "--redis-url",
        default=None,
        help="use this Redis instead of a private redis-server (e.g. redis://127.0.0.1:6379/9)",
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--claimers", type=int, default=8)
    parser.add_argument(
        "--claim-seconds",
        type=float,
        default=60.0,
        help="stop a claim loop after this long even if short of --claims (0: no limit)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one claimer (stderr)")
    parser.add_argument(
        "--what-if",
        action="append",
        default=[],
        choices=NAMES,
        help="also run the service claim loop with this patch applied (see bench/what_if.py)",
    )
    parser.add_argument("--what-if-claims", type=int, default=10_000)
    parser.add_argument("--sockets", type=int, default=5_000)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--publish-seconds", type=float, default=10.0)
    parser.add_argument("--changes-per-second", type=float, default=20.0)
    parser.add_argument("--broadcast-seconds", type=float, default=0.5)
    parser.add_argument("--grace-seconds", type=float, default=3.0)
    parser.add_argument(
        "--daphne-conn-max-age",
        type=int,
        default=-1,
        help="serve with ?conn_max_age=N in Daphne's DATABASE_URL and DATABASE_POOL=0 "
        "(default -1: the app's own database settings)",
    )
    parser.add_argument(
        "--hub-what-if",
        default="",
        help="serve through bench.daphne_what_if with these hub patches: ticks,yield,prepared,gc",
    )
    parser.add_argument("--skip-claims", action="store_true")
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--skip-raw-fanout", action="store_true")
    return parser.parse_args(argv)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s bench %(message)s"
    )
    args = _arguments(argv)
    # A plain SIGTERM would skip the clean-up below and leave the database behind.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    raise_open_files_limit()  # inherited by Daphne, the raw server and the client processes
    started = time.monotonic()
    environment = BenchEnvironment(db_name=args.db_name, redis_url=args.redis_url)
    result: dict[str, Any] = {"load_at_start": load()}
    environment.start()
    try:
        import django  # noqa: PLC0415 - only after the environment is exported

        django.setup()
        logger.setLevel(logging.INFO)  # settings' LOGGING puts the root logger at WARNING
        from django.core.management import call_command  # noqa: PLC0415

        call_command("migrate", verbosity=0)
        from bench import claims, fanout  # noqa: PLC0415

        patients = None
        if not args.skip_claims:
            part, patients = claims.run(
                environment.psycopg_dsn,
                tickets=args.tickets,
                claims=args.claims,
                workers=args.claimers,
                seconds=args.claim_seconds,
                profile=args.profile,
                what_ifs=args.what_if,
                what_if_claims=args.what_if_claims,
            )
            result.update(part)
        if not args.skip_fanout:
            result.update(fanout.run(environment, args, patients))
    finally:
        from django.db import connections  # noqa: PLC0415

        for connection in connections.all(initialized_only=True):
            connection.close()
            close_pool = getattr(connection, "close_pool", None)
            if close_pool is not None:  # psycopg's pool: its threads would reconnect
                close_pool()
        environment.stop()
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["load_at_end"] = load()
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
