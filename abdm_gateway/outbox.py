"""Callbacks to the bridges: a persistent outbox, retries with back-off, and injected faults.

Every delivery keeps one REQUEST-ID through its retries and duplicates (so a bridge can tell a
repeat), is POSTed to `<bridge url><path>` with a Bearer JWT the gateway signs (verifiable
against /gateway/v3/certs), and is retried on connection errors and 5xx, never on 4xx.

The fault switchboard (settings key "faults", set by POST /_admin/faults):
- delay_ms: wait this long before each delivery;
- duplicate: deliver each callback twice;
- reorder: N >= 2 holds deliveries until N are due (or REORDER_HOLD_S passed), then delivers
  them newest first;
- fail_deliveries_next: N counts the next N attempts as failed without sending (retried);
- fail_5xx_next: N answers the next N HIP calls 503 (admission, app.py).
The switches reset when the gateway starts; the outbox does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp

from abdm_gateway.config import Config
from abdm_gateway.keys import Keys
from abdm_gateway.store import Delivery, Store

log = logging.getLogger("abdm_gateway.outbox")

DEFAULT_FAULTS: dict[str, Any] = {
    "delay_ms": 0,
    "duplicate": False,
    "reorder": 0,
    "fail_deliveries_next": 0,
    "fail_5xx_next": 0,
}
REORDER_HOLD_S = 2.0
MAX_BACKOFF_S = 60.0
CALLBACK_TOKEN_TTL_S = 300
POLL_S = 0.5


def now_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Outbox:
    def __init__(self, store: Store, keys: Keys, config: Config) -> None:
        self.store = store
        self.keys = keys
        self.config = config
        self.wake = asyncio.Event()
        self.session: aiohttp.ClientSession | None = None
        self.task: asyncio.Task[None] | None = None
        # The switches are for the run that set them; the deliveries themselves persist.
        store.set_setting("faults", {})

    # faults -------------------------------------------------------------------------------------
    def faults(self) -> dict[str, Any]:
        stored: dict[str, Any] = self.store.get_setting("faults", {})
        return {**DEFAULT_FAULTS, **stored}

    def set_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(DEFAULT_FAULTS)
        if unknown:
            raise ValueError(f"unknown switches: {sorted(unknown)}")
        faults = {**self.faults(), **changes}
        faults["reorder"] = 2 if faults["reorder"] is True else int(faults["reorder"] or 0)
        self.store.set_setting("faults", faults)
        self.wake.set()
        return faults

    def take_fault(self, name: str) -> bool:
        """Consume one of a counted fault (fail_5xx_next, fail_deliveries_next) if any is left."""
        faults = self.faults()
        if int(faults[name]) <= 0:
            return False
        faults[name] = int(faults[name]) - 1
        self.store.set_setting("faults", faults)
        return True

    # the door later flows use --------------------------------------------------------------------
    def enqueue_callback(
        self,
        client_id: str,
        path: str,
        body: dict[str, Any],
        *,
        hip_id: str | None = None,
        expects_reply: bool = True,
    ) -> str:
        """Queue a POST to the client's bridge; its REQUEST-ID, which a reply must name."""
        if client_id not in self.config.clients:
            raise KeyError(client_id)
        request_id = str(uuid.uuid4())
        self.store.enqueue(
            request_id=request_id,
            client_id=client_id,
            hip_id=hip_id,
            path=path,
            body=body,
            expects_reply=expects_reply,
        )
        log.info("callback queued request_id=%s path=%s", request_id, path)
        self.wake.set()
        return request_id

    # the worker ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.session is not None:
            await self.session.close()

    async def _sleep_until_woken(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=max(seconds, 0.0))
        self.wake.clear()

    async def run(self) -> None:
        while True:
            now = time.time()
            due = self.store.due(now)
            if not due:
                next_at = self.store.next_due_at()
                await self._sleep_until_woken(POLL_S if next_at is None else next_at - now)
                continue
            faults = self.faults()
            batch = int(faults["reorder"] or 0)
            if batch >= 2:
                if len(due) < batch and now - min(d.created_at for d in due) < REORDER_HOLD_S:
                    await self._sleep_until_woken(0.05)
                    continue
                due.reverse()
            for delivery in due:
                try:
                    await self.attempt(delivery)
                except Exception:
                    log.exception("delivery %s failed unexpectedly", delivery.id)

    def _retry(self, delivery: Delivery, status: int | None, error: str) -> None:
        if delivery.attempts + 1 >= self.config.max_attempts:
            state, next_at = "failed", time.time()
        else:
            backoff = self.config.retry_base_ms / 1000 * 2**delivery.attempts
            state, next_at = "pending", time.time() + min(backoff, MAX_BACKOFF_S)
        self.store.record_attempt(
            delivery, status=status, error=error, state=state, next_at=next_at
        )
        log.info("delivery %s attempt %s: %s, %s", delivery.id, delivery.attempts + 1, error, state)

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        token = self.keys.sign(
            {"clientId": self.config.issuer, "sub": delivery.client_id}, CALLBACK_TOKEN_TTL_S
        )
        headers = {
            "Authorization": f"Bearer {token}",
            "REQUEST-ID": delivery.request_id,
            "TIMESTAMP": now_timestamp(),
            "X-CM-ID": self.config.cm_id,
        }
        if delivery.hip_id:
            headers["X-HIP-ID"] = delivery.hip_id
        return headers

    async def _post(self, url: str, delivery: Delivery) -> int:
        assert self.session is not None
        async with self.session.post(
            url, json=delivery.body, headers=self._headers(delivery)
        ) as answer:
            await answer.read()
            return answer.status

    async def attempt(self, delivery: Delivery) -> None:
        faults = self.faults()
        if faults["delay_ms"]:
            await asyncio.sleep(int(faults["delay_ms"]) / 1000)
        client = self.config.clients[delivery.client_id]
        base = self.store.bridge_url(delivery.client_id) or client.bridge_url
        if not base:
            self._retry(delivery, None, "no bridge URL registered")
            return
        if self.take_fault("fail_deliveries_next"):
            self._retry(delivery, None, "injected failure")
            return
        url = base.rstrip("/") + delivery.path
        try:
            status = await self._post(url, delivery)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._retry(delivery, None, type(exc).__name__)
            return
        if status >= 500:
            self._retry(delivery, status, f"bridge answered {status}")
            return
        state = "delivered" if status < 400 else "rejected"
        self.store.record_attempt(
            delivery, status=status, error=None, state=state, next_at=time.time()
        )
        log.info("delivery %s answered %s: %s", delivery.id, status, state)
        if state == "delivered" and faults["duplicate"]:
            try:
                again: int | None = await self._post(url, delivery)
                error = None
            except (aiohttp.ClientError, TimeoutError) as exc:
                again, error = None, type(exc).__name__
            self.store.record_attempt(
                delivery,
                status=again,
                error=error,
                state=state,
                next_at=time.time(),
                duplicate=True,
            )
