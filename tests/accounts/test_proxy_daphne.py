"""Per-client limits through a real Daphne started the way ``make run`` starts it.

The command line is read from the Makefile's ``run`` recipe, so a flag added there (such as
``--proxy-headers``, which makes Daphne take the client address from the left-most
X-Forwarded-For entry, the one the client writes) is what this test runs. Each request carries a
different X-Forwarded-For: by default nothing may trust it, and with ``PROXY_COUNT=1`` only the
entry our one proxy appended (the right-most) counts.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.e2e.processes import ROOT, ManagedProcess, answers_http, free_port

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CLIENT_LIMIT = 3  # OTP_MAX_PER_CLIENT_PER_HOUR and STAFF_LOGIN_MAX_FAILURES_PER_CLIENT here


def make_run_daphne(port: int) -> list[str]:
    """The Daphne command of ``make run``, with the Makefile's variables filled in."""
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(
        r"^RUN_WEB_COMMAND = \$\(CURDIR\)/\$\(BIN\)/daphne (.+)$", makefile, re.MULTILINE
    )
    assert match, (
        "make run no longer starts Daphne with `RUN_WEB_COMMAND = $(CURDIR)/$(BIN)/daphne ...`"
    )
    line = (
        match.group(1)
        .replace("$(HOST)", "127.0.0.1")
        .replace("$(PORT)", str(port))
        .replace("$(BIN)", str(Path(sys.executable).parent))
    )
    return [str(Path(sys.executable).parent / "daphne"), *line.split()]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("Daphne shares the test database: set DATABASE_URL to a postgres:// URL.")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    if not settings.REDIS_URL:
        pytest.fail("The limits are counted in Redis: set REDIS_URL.")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "CELERY_", "SMS_", "OTP_", "PYTEST_", "STAFF_", "PROXY", "AXES_")
        )
    }
    env.update(
        DJANGO_SETTINGS_MODULE="esanjeevani.settings_test",
        DATABASE_URL=_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=str(settings.CACHES["default"].get("KEY_PREFIX", "")),
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        QUEUE_SWEEPER_IN_WEB="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        SMS_BACKEND="notifications.sms.InMemorySmsBackend",
        OTP_MAX_PER_CLIENT_PER_HOUR=str(CLIENT_LIMIT),
        STAFF_LOGIN_MAX_FAILURES_PER_CLIENT=str(CLIENT_LIMIT),
        VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture
def start_daphne(tmp_path: Path) -> Iterator[object]:
    started: list[ManagedProcess] = []

    def start(**extra: str) -> str:
        port = free_port()
        process = ManagedProcess(
            f"daphne {len(started)}",
            make_run_daphne(port),
            tmp_path / f"daphne-{len(started)}.log",
            _environment(tmp_path, **extra),
        )
        started.append(process)
        process.start()
        url = f"http://127.0.0.1:{port}"
        process.wait_until(lambda: answers_http(url + "/"), f"serving {url}/")
        return url

    try:
        yield start
    finally:
        for process in started:  # before pytest-django flushes the database
            process.stop()


def post(url: str, payload: dict[str, str], forwarded_for: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded_for},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def ask_for_codes(base: str, forwarded: list[str], *, first: int = 0) -> list[int]:
    """One code request per header value, each for another number (no per-number limit)."""
    return [
        post(f"{base}/api/auth/otp/request/", {"mobile": f"98765{n:05d}"}, header)
        for n, header in enumerate(forwarded, start=first)
    ]


def guess_passwords(base: str, forwarded: list[str]) -> list[int]:
    """One wrong staff password per header value, each for another username."""
    return [
        post(
            f"{base}/api/auth/staff/login/",
            {"username": f"nobody{n}", "password": "wrong"},
            header,
        )
        for n, header in enumerate(forwarded)
    ]


def test_a_rotating_forwarded_header_gets_no_fresh_limits_by_default(start_daphne):
    base = start_daphne()
    rotating = [f"198.51.100.{n}" for n in range(CLIENT_LIMIT + 2)]

    assert ask_for_codes(base, rotating) == [202] * CLIENT_LIMIT + [429, 429]
    assert guess_passwords(base, rotating) == [400] * CLIENT_LIMIT + [429, 429]


def test_behind_one_proxy_exactly_the_hop_it_appended_is_trusted(start_daphne):
    base = start_daphne(
        PROXY_COUNT="1",
        AXES_FAILURE_LIMIT=str(CLIENT_LIMIT),
        STAFF_LOGIN_MAX_FAILURES_PER_CLIENT="100",
    )
    # What the client wrote rotates; the address our proxy appended does not.
    spoofed = [f"198.51.100.{n}, 203.0.113.7" for n in range(CLIENT_LIMIT + 1)]

    assert ask_for_codes(base, spoofed) == [202] * CLIENT_LIMIT + [429]
    # Another client behind the same proxy has its own allowance.
    assert ask_for_codes(base, ["198.51.100.1, 203.0.113.8"], first=100) == [202]

    # django-axes locks a username at the address the proxy appended, not at a spoofed one...
    login = f"{base}/api/auth/staff/login/"
    wrong = {"username": "dr.someone", "password": "wrong"}
    # (the failure that reaches the limit is answered with the lock-out)
    statuses = [post(login, wrong, header) for header in spoofed]
    assert statuses == [400] * (CLIENT_LIMIT - 1) + [429, 429]
    # ...and only there: the same username from another client is not locked.
    assert post(login, wrong, "198.51.100.1, 203.0.113.8") == 400
