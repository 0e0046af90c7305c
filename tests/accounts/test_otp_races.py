"""Parallel requests against real PostgreSQL: the code's rules hold under races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts import otp
from accounts.models import OtpChallenge, User
from core.errors import ServiceError
from tests.sms import code_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MOBILE = "+919876512340"


def _in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connection.close()

    return run


def _challenge(sms_outbox) -> tuple[OtpChallenge, str]:
    challenge = otp.request_code(mobile=MOBILE, client_address="10.0.0.1")
    code = code_in(sms_outbox[-1].body)
    return challenge, code


def test_a_code_replayed_in_parallel_signs_in_once(sms_outbox):
    challenge, code = _challenge(sms_outbox)

    @_in_thread
    def attempt(n: int) -> str:
        try:
            otp.verify_code(
                challenge_id=challenge.public_id, code=code, client_address=f"10.0.0.{n}"
            )
        except ServiceError as error:
            return error.code
        return "signed_in"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count("signed_in") == 1
    # The rest are told the code was used (or, past five tries, that it is spent).
    assert set(results) - {"signed_in"} <= {"otp_used", "otp_attempts_exceeded"}
    assert User.objects.filter(mobile=MOBILE).count() == 1


def test_parallel_guesses_never_exceed_the_attempt_limit(sms_outbox):
    challenge, code = _challenge(sms_outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    @_in_thread
    def guess(n: int) -> str:
        try:
            otp.verify_code(
                challenge_id=challenge.public_id, code=wrong, client_address=f"10.0.1.{n}"
            )
        except ServiceError as error:
            return error.code
        return "signed_in"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(guess, range(20)))
    assert results.count("otp_invalid") == 5
    assert results.count("otp_attempts_exceeded") == 15
    challenge.refresh_from_db()
    assert challenge.attempts == 5
