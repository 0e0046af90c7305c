"""A socket lives no longer than the session that opened it.

A socket is signed in once, by the session cookie of its handshake, and may then stay open for
hours. When that session ends, the socket closes with 4401 (see docs/waiting-room.md):

- Signing out (Django's ``user_logged_out``) publishes the session's hash, never the key
  itself, to the ``sockets.sessions`` group; each web process closes that session's sockets at
  once.
- Whatever else ends a session (expiry, the session deleted or flushed, the password changed,
  the account deactivated) is found by a check every ``SOCKET_SESSION_CHECK_SECONDS``: the
  process asks, in one query per thousand sessions and one per thousand users, which of its
  sessions would still sign their user in. It is also the backstop for a lost sign-out message.

Thousands of sockets wait in one process: each process keeps its sockets in one registry keyed
by session and has one member in the group (not one per socket, see docs/waiting-room.md "How
changes travel"), bound to the running event loop like the waiting-room hub.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from importlib import import_module
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.http import HttpRequest
from django.utils import timezone

from core import publish

logger = logging.getLogger(__name__)

SESSION_GROUP = "sockets.sessions"
CHUNK = 1000
RETRY_SECONDS = 5.0


class SignedInSocket(Protocol):
    scope: dict[str, Any]

    async def end_session(self) -> None: ...


def session_hash(session_key: str) -> str:
    """What crosses the channel layer instead of the key (which would sign anyone in)."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _live_session_keys(keys: list[str]) -> set[str]:
    """Which of these sessions exist and have not expired."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if settings.SESSION_ENGINE.endswith("signed_cookies"):
        return set(keys)  # the cookie is the session: nothing on the server can end it early
    if hasattr(store, "get_model_class"):  # db and cached_db: the table is the truth
        model = store.get_model_class()
        now = timezone.now()
        live: set[str] = set()
        for chunk in _chunks(keys):
            live.update(
                model.objects.filter(session_key__in=chunk, expire_date__gt=now).values_list(
                    "session_key", flat=True
                )
            )
        return live
    return {key for key in keys if store().exists(key)}


def ended_sessions(signed_in: dict[str, tuple[int, str]]) -> set[str]:
    """The session keys of ``{key: (user id, session auth hash at connect)}`` that would no
    longer sign their user in: gone, expired, password changed, user deactivated or deleted."""
    close_old_connections()
    try:
        keys = list(signed_in)
        live = _live_session_keys(keys)
        user_ids = sorted({user_id for user_id, _ in signed_in.values()})
        current: dict[int, str] = {}
        for chunk in _chunks(user_ids):
            for user in (
                get_user_model().objects.filter(pk__in=chunk, is_active=True).only("pk", "password")
            ):
                current[user.pk] = user.get_session_auth_hash()
        return {
            key
            for key, (user_id, auth_hash) in signed_in.items()
            if key not in live or current.get(user_id) != auth_hash
        }
    finally:
        close_old_connections()


class SessionSockets:
    """This process's signed-in sockets, by session key."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.sockets: dict[str, set[SignedInSocket]] = defaultdict(set)
        self.signed_in: dict[str, tuple[int, str]] = {}
        self.by_hash: dict[str, str] = {}
        self.channel_name: str | None = None
        self.listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def add(self, socket: SignedInSocket) -> None:
        user = socket.scope.get("user")
        session = socket.scope.get("session")
        key = getattr(session, "session_key", None)
        if user is None or not user.is_authenticated or not key:
            return
        if not self._tasks:
            self._tasks = [
                self.loop.create_task(self._listen_forever()),
                self.loop.create_task(self._check_forever()),
            ]
            # The first socket waits (briefly) for the subscription, so that a sign-out right
            # after it opened is heard; later ones find it in place.
            try:
                await asyncio.wait_for(self.listening.wait(), timeout=2.0)
            except TimeoutError:
                logger.warning("socket sessions: not yet subscribed to sign-outs")
        self.sockets[key].add(socket)
        self.signed_in[key] = (user.pk, user.get_session_auth_hash())
        self.by_hash[session_hash(key)] = key

    def discard(self, socket: SignedInSocket) -> None:
        key = getattr(socket.scope.get("session"), "session_key", None)
        sockets = self.sockets.get(key or "")
        if key is None or sockets is None:
            return
        sockets.discard(socket)
        if not sockets:
            self._forget(key)

    def _forget(self, key: str) -> set[SignedInSocket]:
        self.signed_in.pop(key, None)
        self.by_hash.pop(session_hash(key), None)
        return self.sockets.pop(key, set())

    async def end(self, key: str) -> None:
        """Close every socket of the session ``key`` (4401)."""
        for socket in self._forget(key):
            try:
                await socket.end_session()
            except Exception:  # one socket's trouble must not keep the others open
                logger.warning("could not close a signed-out socket", exc_info=True)

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("socket sessions: sign-outs not heard; retrying", exc_info=True)
                self.listening.clear()
                await asyncio.sleep(RETRY_SECONDS)

    async def _listen(self) -> None:
        if self.layer is None:
            self.listening.set()  # no layer, no other process: the check does it all
            await asyncio.Event().wait()
        if self.channel_name is None:
            self.channel_name = await self.layer.new_channel("sessions.")
        await self.layer.group_add(SESSION_GROUP, self.channel_name)
        self.listening.set()
        while True:
            message = await self.layer.receive(self.channel_name)
            key = self.by_hash.get(str(message.get("session", "")))
            if message.get("type") == "session.ended" and key is not None:
                await self.end(key)

    async def _check_forever(self) -> None:
        check = sync_to_async(ended_sessions, thread_sensitive=False)
        while True:
            await asyncio.sleep(float(settings.SOCKET_SESSION_CHECK_SECONDS))
            if not self.signed_in:
                continue
            try:
                ended = await check(dict(self.signed_in))
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is away: the next check will tell
                logger.warning("socket sessions: could not check sessions", exc_info=True)
                continue
            for key in ended:
                await self.end(key)


_registry: SessionSockets | None = None


def registry() -> SessionSockets:
    """This process's registry, bound to the running event loop (a new loop gets a new one)."""
    global _registry  # noqa: PLW0603
    loop = asyncio.get_running_loop()
    if _registry is None or _registry.loop is not loop:
        _registry = SessionSockets()
    return _registry


def close_sockets_on_sign_out(sender: Any, request: Any, **kwargs: Any) -> None:
    """``user_logged_out`` receiver: this session's sockets close in every process.

    Only Django's own ``logout()`` ends the session; the token API's sign-out (knox, a DRF
    request) revokes a token and leaves any session alone."""
    if not isinstance(request, HttpRequest):
        return
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        publish.group_send(SESSION_GROUP, {"type": "session.ended", "session": session_hash(key)})
