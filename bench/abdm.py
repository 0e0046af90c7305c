"""``python -m bench.abdm``: a health-information request for a patient with 100 care contexts,
through the offline ABDM gateway, as one JSON line.

Everything real: the offline gateway process (``python -m abdm_gateway``) plays the consent
manager; Daphne serves our bridge; a Celery worker (prefork) processes the callbacks and pushes;
PostgreSQL and a private Redis. The patient's 100 consultations are linked to her ABHA through
the gateway (HIP-initiated linking), the consent manager grants one consent over all of them and
then asks for the data again and again. Each request is timed from the moment our bridge
received it to TRANSFERRED (the HIP's own two timestamps), and checked at the gateway: every
document decrypted, its GCM tag and MD5 checksum right, its FHIR bundle valid.

The crypto part measures what a push costs per document beside bare AES-GCM on the same bytes
(the patient's real documents), and random-key round trips as ``bench.abdm_crypto`` does.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.environment import (
    ROOT,
    BenchEnvironment,
    free_port,
    stop_process,
    wait_for_port,
)
from bench.stats import load, percentile

logger = logging.getLogger("bench")

CLIENT_ID = "ESANJEEVANI_BENCH"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - a client of the bench's own offline gateway
HIP_ID = "IN0910000001"
# The offline gateway's demo ABHA (abdm_gateway/abha_data.py) and the person it names.
ABHA_NUMBER = "91-1234-5678-9015"
ABHA_ADDRESS = "sunita.devi@sbx"
TARGETS = {"hi_request_p95_ms": 2000, "roundtrip_failures": 0}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.abdm", description=__doc__)
    parser.add_argument("--db-name", default="esj_bench_abdm")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--care-contexts", type=int, default=100)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2, help="requests not counted")
    parser.add_argument("--roundtrips", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="per crypto rate measured")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    return parser.parse_args(argv)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


class Services:
    """The gateway, Daphne and a Celery worker, with their logs in the bench's scratch folder."""

    def __init__(self, environment: BenchEnvironment, workers: int) -> None:
        self.work = environment.work
        self.workers = workers
        self.gateway_port = free_port()
        self.web_port = free_port()
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def export(self) -> None:
        os.environ.update(
            CELERY_TASK_ALWAYS_EAGER="0",
            ABDM_GATEWAY_URL=f"{self.gateway}/api/hiecm",
            ABDM_ABHA_URL=f"{self.gateway}/abha/api/v3",
            ABDM_REGISTRY_URL=f"{self.gateway}/v4/int",
            ABDM_CLIENT_ID=CLIENT_ID,
            ABDM_CLIENT_SECRET=CLIENT_SECRET,
            ABDM_HIP_ID=HIP_ID,
            ABDM_CM_ID="sbx",
            PUBLIC_BASE_URL=f"http://127.0.0.1:{self.web_port}",
        )

    def _start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, "LOG_LEVEL": "INFO"},  # the worker logs each transfer's timings
            stdin=subprocess.DEVNULL,
            stdout=(self.work / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start(self) -> None:
        config = self.work / "gateway.json"
        config.write_text(
            json.dumps(
                {
                    "cmId": "sbx",
                    "clients": [
                        {
                            "clientId": CLIENT_ID,
                            "clientSecret": CLIENT_SECRET,
                            "hipIds": [HIP_ID],
                            "bridgeUrl": f"http://127.0.0.1:{self.web_port}",
                        }
                    ],
                }
            )
        )
        python = sys.executable
        gateway = self._start(
            "gateway",
            [python, "-m", "abdm_gateway", "--host", "127.0.0.1", "--port",
             str(self.gateway_port), "--data-dir", str(self.work / "gateway"),
             "--config", str(config)],
        )  # fmt: skip
        bin_dir = Path(python).parent
        web = self._start(
            "daphne",
            [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(self.web_port),
             "esanjeevani.asgi:application"],
        )  # fmt: skip
        worker = self._start(
            "celery",
            [str(bin_dir / "celery"), "-A", "esanjeevani", "worker", "--pool=prefork",
             f"--concurrency={self.workers}", "-Q", "default", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
        )  # fmt: skip
        wait_for_port(self.gateway_port, 30, gateway)
        wait_for_port(self.web_port, 60, web)
        deadline = time.monotonic() + 60
        while " ready." not in (self.work / "celery.log").read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)

    def transfer_timings(self) -> tuple[list[float], list[float]]:
        """From the worker's log (abdm.transfer): per transfer, the wait between receipt and the
        transfer's start (callback processing, Celery hand-overs) and the transfer itself."""
        text = (self.work / "celery.log").read_text(errors="replace")
        found = re.findall(r"waited (-?\d+) ms after receipt, transferred in (\d+) ms", text)
        return [float(w) for w, _ in found], [float(t) for _, t in found]

    def log_tails(self) -> str:
        parts = []
        for name in ("gateway", "daphne", "celery"):
            path = self.work / f"{name}.log"
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)


def _wait(condition: Any, what: str, seconds: float, poll: float = 0.01) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(poll)


def _seed(care_contexts: int) -> Any:
    """Sunita (the gateway's demo ABHA) with ``care_contexts`` signed visits, one a day."""
    from django.db import transaction  # noqa: PLC0415 - after django.setup()

    from accounts.models import User  # noqa: PLC0415
    from bench.seed import make_doctors, make_opd  # noqa: PLC0415
    from consultations.documents import render_and_store  # noqa: PLC0415
    from core.clock import india_today  # noqa: PLC0415
    from core.models import Language, State  # noqa: PLC0415
    from demo.visits import signed_visits  # noqa: PLC0415
    from patients.identifiers import new_patient_number  # noqa: PLC0415
    from patients.models import Patient, Relationship, Sex  # noqa: PLC0415
    from providers.models import Doctor  # noqa: PLC0415

    with transaction.atomic():
        opd = make_opd("ABDM")
        doctor = Doctor.objects.get(pk=make_doctors(1, on_duty=[])[0])
        account = User.objects.create_patient_account("+919876500001")
        patient = Patient.objects.create(
            account=account,
            patient_number=new_patient_number(),
            relationship=Relationship.SELF,
            name="Sunita Devi",
            sex=Sex.FEMALE,
            date_of_birth=date(1988, 3, 14),
            state=State.objects.get(code="UP"),
            preferred_language=Language.objects.get(code="hi"),
            abha_number="91123456789015",
            abha_address=ABHA_ADDRESS,
        )
        today = india_today()
        days = [today - timedelta(days=n) for n in range(care_contexts, 0, -1)]
        rng = random.Random(7)
        prescriptions = signed_visits(patient, opd=opd, doctor=doctor, days=days, rng=rng)
    for prescription in prescriptions:  # the signed PDF each document carries
        render_and_store(prescription.pk)
    return patient


def _link(patient: Any, services: Services, count: int) -> float:
    from abdm.linking import link_existing_care_contexts  # noqa: PLC0415
    from abdm.records import CareContext  # noqa: PLC0415

    started = time.monotonic()
    link_existing_care_contexts(patient)
    linked = CareContext.objects.filter(patient=patient, state=CareContext.State.LINKED)
    _wait(lambda: linked.count() == count, f"{count} care contexts linked", 120, poll=0.1)
    return time.monotonic() - started


def _grant(client: httpx.Client, services: Services, count: int) -> str:
    from abdm.records import Consent  # noqa: PLC0415

    answer = client.post(
        f"{services.gateway}/_admin/cm/consents",
        json={
            "abhaNumber": ABHA_NUMBER,
            "hipId": HIP_ID,
            "hiTypes": ["OPConsultation", "Prescription"],
            "dateRange": {"from": "2020-01-01T00:00:00.000Z", "to": "2030-01-01T00:00:00.000Z"},
            "dataEraseAt": "2030-01-01T00:00:00.000Z",
            "purpose": "CAREMGT",
        },
    )
    if answer.status_code != 201:
        raise RuntimeError(f"the consent was refused: {answer.status_code} {answer.text}")
    consent_id = str(answer.json()["consentId"])
    _wait(
        lambda: Consent.objects.filter(consent_id=consent_id, status="GRANTED").exists(),
        "the consent at the HIP",
        60,
    )
    consent = Consent.objects.get(consent_id=consent_id)
    if consent.care_contexts.count() != count:
        raise RuntimeError(f"the consent names {consent.care_contexts.count()} care contexts")
    return consent_id


def _request(client: httpx.Client, services: Services, consent_id: str) -> dict[str, Any]:
    """One HI request: our time from received to TRANSFERRED and the gateway's checks."""
    from abdm.records import HealthInformationRequest  # noqa: PLC0415

    answer = client.post(
        f"{services.gateway}/_admin/cm/consents/{consent_id}/data-requests", json={}
    )
    answer.raise_for_status()
    transaction_id = str(answer.json()["transactionId"])
    done = HealthInformationRequest.objects.filter(
        transaction_id=transaction_id, state__in=["transferred", "failed", "errored"]
    )
    request = _wait(done.first, "the transfer", 120)
    at_gateway = _wait(
        lambda: (
            body
            if (
                body := client.get(
                    f"{services.gateway}/_admin/cm/transactions/{transaction_id}"
                ).json()
            )["state"]
            in {"COMPLETE", "ERRORED"}
            else None
        ),
        "the gateway's transaction",
        60,
        poll=0.05,
    )
    entries = at_gateway["entries"]
    good = [e for e in entries if e["tagOk"] and e["checksumOk"] and e["bundleOk"]]
    return {
        "state": request.state,
        "ms": (request.transferred_at - request.requested_at).total_seconds() * 1000,
        "entries": len(entries),
        "good": len(good),
        "pages": len(at_gateway["pages"]),
    }


def _push_rates(consent_id: str, seconds: float) -> dict[str, Any]:
    """Our push's per-document work (a fresh key pair per page, agreement, AES-GCM, MD5,
    base64: ``abdm.transfer.page_body``) against bare AES-GCM over the same documents."""
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    from abdm import fidelius, transfer  # noqa: PLC0415
    from abdm.records import Consent, HealthInformationRequest, push_page_size  # noqa: PLC0415

    consent = Consent.objects.get(consent_id=consent_id)
    request = HealthInformationRequest(
        transaction_id="bench", date_from=consent.date_from, date_to=consent.date_to
    )
    entries = transfer.documents(request, consent)
    requester = fidelius.KeyMaterial.generate()
    peer = fidelius.PeerKey(requester.public, requester.nonce, None)
    size = push_page_size()
    pages = [entries[i : i + size] for i in range(0, len(entries), size)]

    def push_all() -> None:
        for number, page in enumerate(pages, start=1):
            transfer.page_body(request, peer, page, number=number, count=len(pages))

    key, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    aes = AESGCM(key)

    def raw_all() -> None:
        for entry in entries:
            base64.b64encode(aes.encrypt(iv, entry.plaintext, None))
            hashlib.md5(entry.plaintext).hexdigest()  # noqa: S324 - the same checksum

    def per_s(function: Any) -> float:
        runs, started = 0, time.perf_counter()
        while True:
            function()
            runs += 1
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                return runs * len(entries) / elapsed

    push, raw = per_s(push_all), per_s(raw_all)
    sizes = [len(entry.plaintext) for entry in entries]
    return {
        "documents": len(entries),
        "document_kb_p50": round(percentile(sizes, 50) / 1024, 1),
        "push_page_size": size,
        "push_bundles_per_s": round(push, 1),
        "raw_aesgcm_bundles_per_s": round(raw, 1),
        "push_vs_raw_ratio": round(push / raw, 3),
    }


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s bench %(message)s"
    )
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started = time.monotonic()
    environment = BenchEnvironment(db_name=args.db_name, redis_url=args.redis_url)
    result: dict[str, Any] = {"load_at_start": load(), "cpus": os.cpu_count()}
    environment.start()
    services = Services(environment, args.workers)
    services.export()
    try:
        import django  # noqa: PLC0415 - only after the environment is exported

        django.setup()
        logger.setLevel(logging.INFO)
        from django.core.management import call_command  # noqa: PLC0415

        call_command("migrate", verbosity=0)
        patient = _seed(args.care_contexts)
        logger.info("seeded %s signed visits", args.care_contexts)
        services.start()
        with httpx.Client(timeout=30) as client:
            result["link_s"] = round(_link(patient, services, args.care_contexts), 1)
            consent_id = _grant(client, services, args.care_contexts)
            runs = [
                _request(client, services, consent_id) for _ in range(args.warmup + args.requests)
            ]
        counted = runs[args.warmup :]
        times = [run["ms"] for run in counted]
        waits, transfers = services.transfer_timings()
        if len(transfers) == len(runs):
            result.update(
                hi_wait_p50_ms=round(percentile(waits[args.warmup :], 50), 1),
                hi_transfer_p50_ms=round(percentile(transfers[args.warmup :], 50), 1),
            )
        expected = 2 * args.care_contexts
        result.update(
            care_contexts=args.care_contexts,
            hi_requests=len(counted),
            hi_request_p50_ms=round(percentile(times, 50), 1),
            hi_request_p95_ms=round(percentile(times, 95), 1),
            hi_request_max_ms=round(max(times), 1),
            documents_per_request=expected,
            pages_per_request=counted[0]["pages"],
            requests_not_transferred=sum(run["state"] != "transferred" for run in counted),
            documents_not_checked_ok=sum(expected - run["good"] for run in counted),
        )
        result.update(_push_rates(consent_id, args.seconds))
        from bench.abdm_crypto import roundtrips, sample_bundle  # noqa: PLC0415

        failures, roundtrip_s = roundtrips(sample_bundle(), args.roundtrips)
        result.update(
            roundtrips=args.roundtrips,
            roundtrip_failures=failures,
            roundtrip_s=round(roundtrip_s, 1),
        )
    except Exception:
        logger.error("service logs:\n%s", services.log_tails())
        raise
    finally:
        services.stop()
        from django.db import connections  # noqa: PLC0415

        connections.close_all()
        environment.stop()
    result["targets"] = TARGETS
    result["met"] = {
        "hi_request_p95_ms": result["hi_request_p95_ms"] <= TARGETS["hi_request_p95_ms"],
        "roundtrip_failures": result["roundtrip_failures"] == 0,
    }
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["load_at_end"] = load()
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
