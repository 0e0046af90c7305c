"""Browser tests against real processes.

A session starts, against the test database that pytest-django created:

- a private ``redis-server`` used only as this run's Celery broker (nothing else can consume,
  flush or collide with its queue);
- one Celery worker (``--pool=solo``) that sends SMS through ``FileSmsBackend``;
- one Daphne serving the app with ``DEBUG=0`` (whitenoise's manifest storage, so static files
  are collected first).

The web process shares the test run's Redis cache (``REDIS_URL`` and ``CACHE_KEY_PREFIX``), so
the suite-wide ``cache.clear()`` also resets the rate limits the web process counts.

Tests mark themselves ``django_db(transaction=True, serialized_rollback=True)``: their rows are
committed, so Daphne sees them, and the reference data loaded by migrations survives the flush.
A test creates its rows first and then calls ``open_page()`` (see ``Browsing`` for why); tests
that need no rows of their own take the ``page`` fixture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.e2e.processes import (
    ROOT,
    LiveApp,
    ManagedProcess,
    answers_http,
    answers_redis,
    free_port,
)
from tests.e2e.support import SmsInbox
from tests.workers import celery_worker

BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Calls: a fake camera and microphone, granted without asking, and WebRTC on 127.0.0.1.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
# Playwright waits this long for an element or an expectation before failing a test.
ACTION_TIMEOUT_MS = 10_000

expect.set_options(timeout=ACTION_TIMEOUT_MS)


def _test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("The browser tests need PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture(scope="session")
def live_app(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveApp]:
    """Daphne and a Celery worker on the test database, for the whole session."""
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    with running_app(tmp_path_factory.mktemp("e2e"), database_url) as app:
        yield app


@contextlib.contextmanager
def running_app(
    work: Path, database_url: str, extra_env: dict[str, str] | None = None
) -> Iterator[LiveApp]:
    """A private broker, a Celery worker and Daphne on ``database_url``, logging into ``work``.

    ``extra_env`` adds settings both processes read (a module overriding ``live_app`` uses it,
    e.g. to point the app at a gateway of its own).
    """
    if not settings.REDIS_URL:
        pytest.fail("The browser tests need Redis: set REDIS_URL.")
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.fail("The browser tests need redis-server on PATH for a private Celery broker.")

    broker_port, web_port = free_port(), free_port()
    url = f"http://127.0.0.1:{web_port}"
    # The tests expect the default OTP limits, the file SMS backend and a worker: no stray
    # setting from the caller's shell (or from settings_test's defaults) may change that.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "SMS_", "OTP_", "PYTEST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="esanjeevani.settings",
        DATABASE_URL=database_url,
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=str(settings.CACHES["default"].get("KEY_PREFIX", "")),
        # The broker is private to this run: no other test run can take or flush its messages.
        CELERY_BROKER_URL=f"redis://127.0.0.1:{broker_port}/0",
        CELERY_TASK_ALWAYS_EAGER="0",
        SECRET_KEY="e2e-" + uuid.uuid4().hex + uuid.uuid4().hex,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SMS_BACKEND="notifications.sms.FileSmsBackend",
        SMS_FILE_PATH=str(work / "sms.jsonl"),
        VAR_DIR=str(work / "var"),
        # Links in SMS (the e-prescription download) point at this server.
        PUBLIC_BASE_URL=url,
        # Calls between two browsers on this machine: pages keep only 127.0.0.1 candidates.
        WEBRTC_LOOPBACK_ONLY="1",
        # No timers: this server lives for the whole session and its sweeper would act on
        # other tests' data (tests/queues/test_sweeper_in_web.py runs a sweeping server alone).
        QUEUE_SWEEPER_IN_WEB="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})

    broker = ManagedProcess(
        "redis-server (broker)",
        [
            redis_server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(broker_port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        work / "broker.log",
        env,
    )
    # The tests' worker command line (tests/workers.py): alone on a private broker, quiet.
    worker = celery_worker(work / "worker.log", env)
    daphne = ManagedProcess(
        "daphne",
        [
            str(BIN / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(web_port),
            "esanjeevani.asgi:application",
        ],
        work / "daphne.log",
        env,
    )
    app = LiveApp(url=url, sms_file=work / "sms.jsonl", processes=[broker, worker, daphne])
    try:
        broker.start()
        broker.wait_until(lambda: answers_redis(broker_port), "answering PING")
        worker.start()
        collected = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if collected.returncode != 0:
            pytest.fail(f"collectstatic failed:\n{collected.stdout}\n{collected.stderr}")
        daphne.start()
        daphne.wait_until(lambda: answers_http(url + "/"), f"serving {url}/")
        worker.wait_until(lambda: " ready." in worker.log_tail(), "ready")
        yield app
    finally:
        # Web and worker first, broker last, all before pytest-django drops the database.
        for process in reversed(app.processes):
            process.stop()
    failed = [p for p in app if p.process is not None and p.process.returncode not in (0, -15)]
    if failed:
        pytest.fail("A live process ended badly:\n" + app.logs())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failing browser test, attach the server and worker logs to the report."""
    report = yield
    app = getattr(item, "funcargs", {}).get("live_app")
    if isinstance(app, LiveApp) and report.failed:
        report.sections.append(("live processes", app.logs()))
    if report.when == "call":
        item._e2e_call_failed = report.failed  # type: ignore[attr-defined]
    return report


class Browsing:
    """Chromium, started on the first ``open()`` and stopped at the end of the test.

    While Playwright's sync API runs, an asyncio loop runs in this thread. Django then hands out
    a different database connection (asgiref keeps connections per context while a loop runs),
    one that knows nothing of pytest-django's serialized reference data, and refuses ORM calls
    (``SynchronousOnlyOperation``). So a test does its database work first and opens the browser
    after; the browser is closed before pytest-django flushes the database.
    """

    def __init__(self, app: LiveApp, failure_screenshot: Path) -> None:
        self.app = app
        self.failure_screenshot = failure_screenshot
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._contexts: list[BrowserContext] = []
        self._pages: list[Page] = []

    def open(self, *, width: int = 360, height: int = 740, locale: str = "en-IN") -> Page:
        """A new page in a fresh browser profile: no cookies, a phone-sized screen by default."""
        if self._browser is None:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        context = self._browser.new_context(
            base_url=self.app.url,
            locale=locale,
            timezone_id="Asia/Kolkata",
            viewport={"width": width, "height": height},
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        self._contexts.append(context)
        page = context.new_page()
        self._pages.append(page)
        return page

    def close(self, *, failed: bool) -> None:
        if failed and self._pages:
            # Where the browser was when the test failed; pytest shows this with the failure.
            last = self._pages[-1]
            with contextlib.suppress(Exception):
                last.screenshot(path=str(self.failure_screenshot), full_page=True)
                print(f"\nScreenshot: {self.failure_screenshot} (at {last.url})")  # noqa: T201
        for context in self._contexts:
            context.close()
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


@pytest.fixture
def open_page(
    live_app: LiveApp, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Page]]:
    """``open_page()`` starts the browser: call it after the test's database work."""
    for process in live_app:
        if not process.alive():
            pytest.fail(f"{process.name} is not running:\n{process.log_tail()}")
    browsing = Browsing(live_app, tmp_path / "failure.png")
    try:
        yield browsing.open
    finally:
        browsing.close(failed=getattr(request.node, "_e2e_call_failed", False))


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """For tests that need no database rows of their own."""
    return open_page()


@pytest.fixture
def sms(live_app: LiveApp) -> SmsInbox:
    """The SMS the worker sends from now on (earlier tests' messages are ignored)."""
    return SmsInbox.from_now(live_app.sms_file)
