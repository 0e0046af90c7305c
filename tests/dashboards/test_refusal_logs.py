"""A refused dashboard request is not an error: it is logged at most as a WARNING, in one line,
without a traceback (issue 9, item 30). Pages, CSV exports, the API and the live socket alike."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from accounts.models import User
from tests.dashboards.support import RANGE, outsider_accounts
from tests.queues.test_sockets import closed_with, run, session_cookie, socket

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records a refusal must not leave: errors, and anything with a traceback."""
    return [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno > logging.WARNING or record.exc_info or record.stack_info
    ]


def test_it_logs_refused_pages_and_exports_without_a_traceback(
    caplog: pytest.LogCaptureFixture, up_admin: User, national_admin: User, family, doctor_user
) -> None:
    caplog.set_level(logging.DEBUG)
    refusals = [
        (up_admin, "/dashboard/states/MH/", 403),
        (up_admin, "/dashboard/states/MH/per-day.csv", 403),
        (up_admin, "/dashboard/states.csv", 404),
        (up_admin, "/dashboard/patients.csv", 404),
        (national_admin, "/dashboard/states/ZZ/", 404),
        (national_admin, "/dashboard/states/ZZ/summary.csv", 404),
        *((user, "/dashboard/", 403) for user in outsider_accounts(family, doctor_user).values()),
    ]
    for user, path, status in refusals:
        assert signed_in(user).get(path, RANGE).status_code == status, path
    bad_dates = signed_in(up_admin).get("/dashboard/", {"start": "2026-13-01"})
    assert bad_dates.status_code == 400

    assert not problems(caplog), "\n".join(problems(caplog))
    refused = [r for r in caplog.records if r.name == "django.request"]
    assert refused, "a refusal still leaves a line in the log"


def test_it_logs_refused_api_calls_without_a_traceback(
    caplog: pytest.LogCaptureFixture, up_admin: User, national_admin: User, family
) -> None:
    caplog.set_level(logging.DEBUG)
    calls = [
        (up_admin, "/api/dashboards/trends/", {"state": "MH"}, 403),
        (up_admin, "/api/dashboards/states/", {}, 403),
        (national_admin, "/api/dashboards/live/", {"state": "ZZ"}, 404),
        (national_admin, "/api/dashboards/trends/", {"start": "yesterday"}, 400),
        (family.account, "/api/dashboards/live/", {}, 403),
    ]
    for user, path, query, status in calls:
        assert signed_in(user).get(path, query).status_code == status, path
    assert not problems(caplog), "\n".join(problems(caplog))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_logs_refused_sockets_without_a_traceback(
    caplog: pytest.LogCaptureFixture, up_admin: User, national_admin: User, family
) -> None:
    caplog.set_level(logging.DEBUG)
    refusals = [
        (session_cookie(up_admin), "/ws/dashboard/live/?state=MH", 4403),
        (session_cookie(national_admin), "/ws/dashboard/live/?state=ZZ", 4404),
        (session_cookie(family.account), "/ws/dashboard/live/", 4403),
    ]

    async def scenario() -> None:
        for cookie, path, code in refusals:
            comm = socket(path, cookie)
            await comm.connect()
            assert await closed_with(comm) == code, path

    run(scenario)
    assert not problems(caplog), "\n".join(problems(caplog))
