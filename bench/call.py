"""``python -m bench.call``: video call set-up and the call socket's relay, as one JSON line.

One Daphne (``WEBRTC_LOOPBACK_ONLY=1``) on the bench's own PostgreSQL database (created and
dropped here) and a private Redis (see bench/environment.py). Then, in this process:

1. Set-up (bench/call_setup.py): ``--calls`` calls of two aiortc bots through the real
   signalling, each from the doctor's ``accept_offer`` to both peers connected and to both first
   video frames, alternating with the same two peers exchanging SDP directly (no signalling).
   ``signalling_overhead_ms`` = ``setup_p50_ms`` - ``direct_setup_p50_ms``.
2. Relay (bench/call_relay.py): the call socket's relay between the two sides of one room,
   maximum throughput (``state`` messages) and one-way latency at ``--latency-rate`` messages
   a second (``candidate`` messages carrying their send time), beside a bare ``websockets``
   relay in a subprocess (bench/call_raw_relay.py) measured the same way. The Daphne runs with
   ``CALL_MESSAGES_PER_10_SECONDS`` raised to ``--rate-limit`` so the per-socket limit (600 in
   10 s by default) does not cut the relay measurement off; the output says so.

Logs go to stderr; stdout carries only the JSON object. Definitions: bench/README.md ("Video
calls") and the docstrings of the two modules above.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.call_daphne import WHAT_IFS
from bench.environment import (
    ROOT,
    BenchEnvironment,
    cpu_seconds,
    free_port,
    stop_process,
    wait_for_port,
)
from bench.stats import load

logger = logging.getLogger("bench")

TARGETS = {
    "setup_p95_ms": 200,
    "first_frame_p95_ms": 300,
    "signalling_overhead_ms": 50,
    "relay_p99_ms": 20,
}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.call", description=__doc__)
    parser.add_argument("--db-name", default="esj_bench_call")
    parser.add_argument(
        "--redis-url",
        default=None,
        help="use this Redis instead of a private redis-server (e.g. redis://127.0.0.1:6379/10)",
    )
    parser.add_argument("--calls", type=int, default=30, help="measured calls (at least 20)")
    parser.add_argument("--warmup", type=int, default=3, help="calls before measuring")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between calls")
    parser.add_argument("--relay-seconds", type=float, default=5.0)
    parser.add_argument("--window", type=int, default=256, help="relay messages in flight")
    parser.add_argument("--latency-rate", type=float, default=500.0)
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    parser.add_argument("--rate-limit", type=int, default=1_000_000_000)
    parser.add_argument("--conn-max-age", type=int, default=None, help="Daphne's CONN_MAX_AGE")
    parser.add_argument(
        "--profile-daphne", type=Path, default=None, help="run Daphne under cProfile, to here"
    )
    parser.add_argument(
        "--what-if",
        action="append",
        default=[],
        choices=sorted(WHAT_IFS),
        help="run Daphne with this patch applied (see bench/call_daphne.py)",
    )
    parser.add_argument("--skip-setup", action="store_true")
    parser.add_argument("--skip-relay", action="store_true")
    return parser.parse_args(argv)


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _start_daphne(
    environment: BenchEnvironment, args: argparse.Namespace, port: int
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        WEBRTC_LOOPBACK_ONLY="1",
        CALL_MESSAGES_PER_10_SECONDS=str(args.rate_limit),
    )
    if args.conn_max_age is not None:
        env["DATABASE_URL"] = f"{environment.database_url}?conn_max_age={args.conn_max_age}"
        env["DATABASE_POOL"] = "0"  # Django refuses persistent connections with a pool
    what_ifs = [part for name in args.what_if for part in ("--what-if", name)]
    command = ["-m", "bench.call_daphne", *what_ifs, "--"]
    if args.profile_daphne is not None:
        command = ["-m", "cProfile", "-o", str(args.profile_daphne), *command]
    daphne_args = ["-b", "127.0.0.1", "-p", str(port), "esanjeevani.asgi:application"]
    daphne = _start([sys.executable, *command, *daphne_args], environment.work / "daphne.log", env)
    wait_for_port(port, 60, daphne)
    return daphne


def _seed(environment: BenchEnvironment, calls: int) -> tuple[list[Any], Any]:
    """``calls`` doctors each offered a patient, and one more pair for the relay room."""
    from bench.call_setup import plan_calls  # noqa: PLC0415 - after django.setup()
    from bench.seed import (  # noqa: PLC0415
        copy_patients,
        copy_waiting_tickets,
        make_doctors,
        make_opd,
    )

    dsn = environment.psycopg_dsn
    opd = make_opd("VC")
    patients = copy_patients(dsn, calls + 1)
    copy_waiting_tickets(dsn, opd, patients, calls + 1)
    planned = plan_calls(make_doctors(calls + 1, on_duty=[opd]))
    return planned[:-1], planned[-1]


async def _relay_part(
    base_url: str,
    daphne_pid: int,
    relay_call: Any,
    environment: BenchEnvironment,
    args: argparse.Namespace,
) -> dict[str, Any]:
    from asgiref.sync import sync_to_async  # noqa: PLC0415

    from bench.call_relay import close_quietly, measure, open_socket  # noqa: PLC0415
    from queues.services import visits  # noqa: PLC0415

    await sync_to_async(visits.accept_offer)(relay_call.doctor, relay_call.ticket)
    ws = base_url.replace("http://", "ws://", 1) + f"/ws/call/{relay_call.ticket.public_id}/"
    patient = await open_socket(ws, base_url, relay_call.patient_cookie)
    doctor = await open_socket(ws, base_url, relay_call.doctor_cookie)
    await asyncio.sleep(0.5)  # room and peer frames
    cpu = cpu_seconds(daphne_pid)
    try:
        app = await measure(
            patient,
            doctor,
            seconds=args.relay_seconds,
            window=args.window,
            rate=args.latency_rate,
            latency_seconds=args.latency_seconds,
        )
    finally:
        await close_quietly(patient, doctor)
    relayed = app["sent"] + app["latency_sent"]
    cpu_per_message = (cpu_seconds(daphne_pid) - cpu) / max(1, relayed)

    port = free_port()
    raw_server = _start(
        [sys.executable, "-m", "bench.call_raw_relay", "--port", str(port)],
        environment.work / "raw_relay.log",
        dict(os.environ),
    )
    try:
        await asyncio.to_thread(wait_for_port, port, 30, raw_server)
        url = f"ws://127.0.0.1:{port}"
        a = await open_socket(url + "/a", "http://127.0.0.1")
        b = await open_socket(url + "/b", "http://127.0.0.1")
        try:
            raw = await measure(
                a,
                b,
                seconds=args.relay_seconds,
                window=args.window,
                rate=args.latency_rate,
                latency_seconds=args.latency_seconds,
            )
        finally:
            await close_quietly(a, b)
    finally:
        stop_process(raw_server)
    return {
        "relay_msgs_per_s": app["msgs_per_s"],
        "relay_p50_ms": app["p50_ms"],
        "relay_p99_ms": app["p99_ms"],
        "relay_max_ms": app["max_ms"],
        "relay_lost": app["lost"] + app["latency_lost"],
        "relay_daphne_cpu_us_per_msg": round(cpu_per_message * 1e6),
        "raw_relay_msgs_per_s": raw["msgs_per_s"],
        "raw_relay_p50_ms": raw["p50_ms"],
        "raw_relay_p99_ms": raw["p99_ms"],
        "raw_relay_lost": raw["lost"] + raw["latency_lost"],
        "relay_ratio": round(app["msgs_per_s"] / raw["msgs_per_s"], 3) if raw["msgs_per_s"] else 0,
        "relay_latency_rate_per_s": args.latency_rate,
        "relay_rate_limit_per_10s": args.rate_limit,
        "relay_rate_limit_note": (
            "CALL_MESSAGES_PER_10_SECONDS raised from the default 600 for the relay measurement"
        ),
    }


async def _measure(
    base_url: str,
    daphne_pid: int,
    planned: tuple[list[Any], Any],
    environment: BenchEnvironment,
    args: argparse.Namespace,
) -> dict[str, Any]:
    from bench import call_setup  # noqa: PLC0415
    from tests.video.bots import stay_on_loopback  # noqa: PLC0415

    stay_on_loopback()
    calls, relay_call = planned
    result: dict[str, Any] = {}
    if not args.skip_setup:
        cpu = cpu_seconds(daphne_pid)
        result.update(await call_setup.run(base_url, calls, warmup=args.warmup, pause=args.pause))
        result["daphne_cpu_ms_per_call"] = round(
            1000 * (cpu_seconds(daphne_pid) - cpu) / max(1, len(calls)), 1
        )
    if not args.skip_relay:
        result.update(await _relay_part(base_url, daphne_pid, relay_call, environment, args))
    return result


def _verdict(result: dict[str, Any]) -> dict[str, bool]:
    return {name: result[name] <= limit for name, limit in TARGETS.items() if name in result}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s bench %(message)s"
    )
    args = _arguments(argv)
    started = time.monotonic()
    environment = BenchEnvironment(db_name=args.db_name, redis_url=args.redis_url)
    result: dict[str, Any] = {
        "load_at_start": load(),
        "cpus": os.cpu_count(),
        "what_if": args.what_if,
        "daphne_conn_max_age": args.conn_max_age or 0,
    }
    environment.start()
    daphne = None
    try:
        import django  # noqa: PLC0415 - only after the environment is exported

        django.setup()
        from django.core.management import call_command  # noqa: PLC0415

        call_command("migrate", verbosity=0)
        planned = _seed(environment, args.calls + args.warmup)
        port = free_port()
        daphne = _start_daphne(environment, args, port)
        logger.info("daphne on port %s", port)
        result.update(
            asyncio.run(
                _measure(f"http://127.0.0.1:{port}", daphne.pid, planned, environment, args)
            )
        )
    except Exception:
        log = environment.work / "daphne.log"
        if log.exists():
            logger.error("daphne log tail:\n%s", log.read_text(errors="replace")[-4000:])
        raise
    finally:
        stop_process(daphne)
        from django.db import connections  # noqa: PLC0415

        connections.close_all()
        environment.stop()
    result["targets"] = TARGETS
    result["met"] = _verdict(result)
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["load_at_end"] = load()
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
