"""Part 2: waiting-room fan-out from one Daphne process, and a raw ``websockets`` floor.

Every socket is a real waiting room: ``/ws/waiting/<ticket>/`` with a session cookie of the
account that owns the ticket. Queue changes are published from this process through the real
path (``queues.broadcast.queue_changed`` inside a transaction, so they leave on commit), each
with a unique key; the clients report when each of their sockets first saw each key.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import seed
from bench.environment import (
    ROOT,
    BenchEnvironment,
    cpu_seconds,
    free_port,
    rss_mb,
    stop_process,
    wait_for_port,
)
from bench.sampling import CpuUse
from bench.stats import load, ms, percentile
from bench.ws_clients import ClientReport, ClientSpec, client_process

logger = logging.getLogger("bench")

BIN = Path(sys.executable).parent
KEY_BASE = 30_000_000_000_000  # above any real queue_seq: these keys are only ever ours
READY_TIMEOUT = 240.0


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the bench, which stops its servers itself
    )


def _log_tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# --- Data -----------------------------------------------------------------------------------


@dataclass
class Room:
    opd_id: int
    paths: list[str]
    cookies: list[str]


def _waiting_rooms(dsn: str, sockets: int, patients: seed.Patients | None) -> Room:
    """An OPD with ``sockets`` waiting tickets, and a signed-in session for each owner."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: PLC0415
    from django.contrib.sessions.backends.db import SessionStore  # noqa: PLC0415
    from django.contrib.sessions.models import Session  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415
    from django.utils.crypto import get_random_string  # noqa: PLC0415

    from accounts.models import User  # noqa: PLC0415
    from queues.models import Ticket  # noqa: PLC0415

    if patients is None or patients.count < sockets:
        patients = seed.copy_patients(dsn, sockets)
    opd = seed.make_opd("BF")
    seed.copy_waiting_tickets(dsn, opd, patients, sockets)
    seed.vacuum_tickets(dsn)
    tickets = list(
        Ticket.objects.filter(opd=opd).order_by("number").values_list("public_id", "booked_by_id")
    )
    hashes = {
        user.pk: user.get_session_auth_hash()
        for user in User.objects.filter(pk__in=[owner for _, owner in tickets]).only("password")
    }
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    sessions = []
    for _, owner in tickets:
        data = {
            SESSION_KEY: str(owner),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: hashes[owner],
        }
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expires)
        )
    Session.objects.bulk_create(sessions, batch_size=2000)
    return Room(
        opd_id=opd.pk,
        paths=[f"/ws/waiting/{public_id}/" for public_id, _ in tickets],
        cookies=[s.session_key for s in sessions],
    )


# --- Clients --------------------------------------------------------------------------------


@dataclass
class Clients:
    processes: list[Any]
    stop: Any
    reports: Any
    connected: int
    failed: int
    connect_s: float


def _start_clients(
    url: str,
    origin: str,
    paths: list[str],
    cookies: list[str],
    *,
    procs: int,
    raw: bool,
    server: subprocess.Popen[bytes],
) -> Clients:
    ctx = mp.get_context("spawn")
    ready: Any = ctx.Queue()
    stop: Any = ctx.Event()
    reports: Any = ctx.Queue()
    processes = []
    concurrency = 64 if raw else 16
    for i in range(procs):
        spec = ClientSpec(
            index=i,
            url=url,
            origin=origin,
            paths=paths[i::procs],
            cookies=cookies[i::procs],
            concurrency=concurrency,
            raw=raw,
        )
        process = ctx.Process(target=client_process, args=(spec, ready, stop, reports))
        process.start()
        processes.append(process)
    clients = Clients(processes, stop, reports, 0, 0, 0.0)
    started = time.monotonic()
    waiting = len(processes)
    try:
        while waiting:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode} during connects")
            if time.monotonic() - started > READY_TIMEOUT:
                raise RuntimeError(f"sockets still connecting after {READY_TIMEOUT}s")
            try:
                _index, ok, bad, _seconds = ready.get(timeout=1.0)
            except queue.Empty:
                continue
            clients.connected += ok
            clients.failed += bad
            waiting -= 1
    except BaseException:
        _end_clients(clients)
        raise
    clients.connect_s = time.monotonic() - started
    return clients


def _end_clients(clients: Clients) -> None:
    clients.stop.set()
    for process in clients.processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def _clients_cpu(clients: Clients) -> float:
    return sum(cpu_seconds(p.pid) for p in clients.processes if p.pid is not None)


def _stop_clients(clients: Clients) -> list[ClientReport]:
    clients.stop.set()
    reports: list[ClientReport] = [clients.reports.get(timeout=60) for _ in clients.processes]
    for process in clients.processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
    for report in reports:
        for error in report.errors:
            logger.error("client %s failed: %s", report.index, error)
    return reports


# --- Measures -------------------------------------------------------------------------------


def _merge(reports: list[ClientReport], attr: str) -> dict[int, tuple[int, float, float]]:
    merged: dict[int, tuple[int, float, float]] = {}
    for report in reports:
        for key, (count, first, last) in getattr(report, attr).items():
            if key in merged:
                c, f, la = merged[key]
                merged[key] = (c + count, min(f, first), max(la, last))
            else:
                merged[key] = (count, first, last)
    return merged


def _fanout_measures(
    reports: list[ClientReport],
    published: dict[int, float],
    sockets: int,
    window: float,
) -> dict[str, Any]:
    """Latency to the last socket per change, losses, and frames per socket per second."""
    keys = _merge(reports, "keys")
    frames = _merge(reports, "frames")
    latencies = [keys[k][2] - t for k, t in published.items() if k in keys]
    first = [keys[k][1] - t for k, t in published.items() if k in keys]
    received = sum(keys[k][0] for k in published if k in keys)
    frames_in_window = [v for k, v in frames.items() if k in published]
    spreads = [last - first for _, first, last in frames_in_window]
    return {
        "fanout_p50_ms": ms(percentile(latencies, 50)),
        "fanout_p99_ms": ms(percentile(latencies, 99)),
        "fanout_max_ms": ms(max(latencies, default=0.0)),
        "fanout_first_socket_p50_ms": ms(percentile(first, 50)),
        "fanout_spread_p99_ms": ms(percentile(spreads, 99)),
        "messages_lost": sockets * len(published) - received,
        "changes_published": len(published),
        "changes_never_seen": sum(1 for k in published if k not in keys),
        "frames_per_socket_per_s": (
            round(sum(c for c, _, _ in frames_in_window) / sockets / window, 2) if sockets else 0
        ),
        "changes_per_frame": (
            round(len(published) / len(frames_in_window), 1) if frames_in_window else 0
        ),
    }


def _publish(opd_id: int, seconds: float, rate: float) -> tuple[dict[int, float], list[float]]:
    """Queue changes at a steady rate through the app's broadcast path; key -> publish time."""
    from django.db import transaction  # noqa: PLC0415

    from queues import broadcast  # noqa: PLC0415

    published: dict[int, float] = {}
    call_times: list[float] = []
    count = int(seconds * rate)
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        key = KEY_BASE + i
        published[key] = time.time()
        t0 = time.perf_counter()
        with transaction.atomic():
            broadcast.queue_changed(opd_id, left=[(0, key)])
        call_times.append(time.perf_counter() - t0)
    return published, call_times


def _app_fanout(
    environment: BenchEnvironment, args: argparse.Namespace, room: Room
) -> dict[str, Any]:
    port = free_port()
    env = dict(os.environ)
    env.update(QUEUE_BROADCAST_SECONDS=str(args.broadcast_seconds))
    if args.daphne_conn_max_age >= 0:  # a deployment knob: ?conn_max_age= in the URL
        env["DATABASE_URL"] = f"{environment.database_url}?conn_max_age={args.daphne_conn_max_age}"
        env["DATABASE_POOL"] = "0"
    app = "esanjeevani.asgi:application"
    if args.hub_what_if:
        env["BENCH_HUB_WHAT_IF"] = args.hub_what_if
        app = "bench.daphne_what_if:application"
    log = environment.work / "daphne.log"
    daphne = _start(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), app],
        log,
        env,
    )
    clients: Clients | None = None
    try:
        wait_for_port(port, 30, daphne)
        rss_idle = rss_mb(daphne.pid)
        logger.info(
            "daphne on port %s (pid %s, %.0f MB); connecting %s sockets",
            port,
            daphne.pid,
            rss_idle,
            len(room.paths),
        )
        connect_cpu = cpu_seconds(daphne.pid)
        clients = _start_clients(
            f"ws://127.0.0.1:{port}",
            f"http://127.0.0.1:{port}",
            room.paths,
            room.cookies,
            procs=args.client_processes,
            raw=False,
            server=daphne,
        )
        logger.info(
            "%s sockets connected (%s failed) in %.1fs",
            clients.connected,
            clients.failed,
            clients.connect_s,
        )
        rss_connected = rss_mb(daphne.pid)
        connect_cpu = cpu_seconds(daphne.pid) - connect_cpu
        time.sleep(1.0)  # let the last connects' database work settle
        cpu_before = cpu_seconds(daphne.pid)
        clients_before = _clients_cpu(clients)
        with CpuUse() as machine:
            window_start = time.monotonic()
            published, call_times = _publish(
                room.opd_id, args.publish_seconds, args.changes_per_second
            )
            window = time.monotonic() - window_start
            time.sleep(args.grace_seconds)
        daphne_cpu = cpu_seconds(daphne.pid) - cpu_before
        clients_cpu = _clients_cpu(clients) - clients_before
        reports = _stop_clients(clients)
        clients = None
        measures = _fanout_measures(reports, published, sum(r.connected for r in reports), window)
        if measures["messages_lost"]:
            logger.warning("changes were lost; daphne log tail:\n%s", _log_tail(log, 400))
        return {
            **({"hub_what_if": args.hub_what_if} if args.hub_what_if else {}),
            "daphne_db_connections": (
                f"conn_max_age={args.daphne_conn_max_age}, DATABASE_POOL=0"
                if args.daphne_conn_max_age >= 0
                else "app settings"
            ),
            "sockets": sum(r.connected for r in reports),
            "sockets_failed": sum(r.failed for r in reports),
            "sockets_closed_early": sum(r.closed_early for r in reports),
            **measures,
            "server_rss_mb": rss_mb(daphne.pid),
            "server_rss_idle_mb": rss_idle,
            "server_kib_per_socket": (
                round(
                    (rss_connected - rss_idle) * 1024 / max(1, sum(r.connected for r in reports)), 1
                )
            ),
            "server_cpu_pct": round(100 * daphne_cpu / (window + args.grace_seconds), 1),
            "clients_cpu_pct": round(100 * clients_cpu / (window + args.grace_seconds), 1),
            "connect_s": round(max((r.connect_s for r in reports), default=0.0), 1),
            "connect_server_cpu_ms_per_socket": round(
                1000 * connect_cpu / max(1, sum(r.connected for r in reports)), 2
            ),
            "publish_call_p50_ms": ms(percentile(call_times, 50)),
            "publish_call_p99_ms": ms(percentile(call_times, 99)),
            "fanout_machine_cpu": machine.result,
            "load_during_fanout": load(),
        }
    except Exception:
        logger.error("daphne log tail:\n%s", _log_tail(log))
        raise
    finally:
        if clients is not None:
            _end_clients(clients)
        stop_process(daphne)


def _raw_fanout(
    environment: BenchEnvironment, args: argparse.Namespace, sockets: int
) -> dict[str, Any]:
    port = free_port()
    log = environment.work / "rawserver.log"
    server = _start(
        [
            sys.executable,
            "-m",
            "bench.rawserver",
            "--port",
            str(port),
            "--interval",
            str(args.broadcast_seconds),
        ],
        log,
        dict(os.environ),
    )
    clients: Clients | None = None
    try:
        wait_for_port(port, 30, server)
        clients = _start_clients(
            f"ws://127.0.0.1:{port}",
            f"http://127.0.0.1:{port}",
            ["/"] * sockets,
            [""] * sockets,
            procs=args.client_processes,
            raw=True,
            server=server,
        )
        time.sleep(1.0)
        window_start = time.time()
        cpu_before = cpu_seconds(server.pid)
        clients_before = _clients_cpu(clients)
        with CpuUse() as machine:
            time.sleep(args.publish_seconds)
            window_end = time.time()
            time.sleep(args.grace_seconds)
        server_cpu = cpu_seconds(server.pid) - cpu_before
        clients_cpu = _clients_cpu(clients) - clients_before
        busy_window = window_end - window_start + args.grace_seconds
        reports = _stop_clients(clients)
        clients = None
        sent: dict[int, float] = {}
        for report in reports:
            sent.update(report.sent)
        published = {k: t for k, t in sent.items() if window_start <= t < window_end}
        measures = _fanout_measures(
            reports, published, sum(r.connected for r in reports), window_end - window_start
        )
        return {
            "raw_sockets": sum(r.connected for r in reports),
            "raw_fanout_p50_ms": measures["fanout_p50_ms"],
            "raw_fanout_p99_ms": measures["fanout_p99_ms"],
            "raw_messages_lost": measures["messages_lost"],
            "raw_frames_per_socket_per_s": measures["frames_per_socket_per_s"],
            "raw_server_rss_mb": rss_mb(server.pid),
            "raw_server_cpu_pct": round(100 * server_cpu / busy_window, 1),
            "raw_clients_cpu_pct": round(100 * clients_cpu / busy_window, 1),
            "raw_fanout_machine_cpu": machine.result,
        }
    except Exception:
        logger.error("raw server log tail:\n%s", _log_tail(log))
        raise
    finally:
        if clients is not None:
            _end_clients(clients)
        stop_process(server)


def run(
    environment: BenchEnvironment, args: argparse.Namespace, patients: seed.Patients | None
) -> dict[str, Any]:
    room = _waiting_rooms(environment.psycopg_dsn, args.sockets, patients)
    result = _app_fanout(environment, args, room)
    if not args.skip_raw_fanout:
        result.update(_raw_fanout(environment, args, args.sockets))
    return result
