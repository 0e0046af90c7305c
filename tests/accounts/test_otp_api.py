"""Patient sign-in by mobile and one-time code, through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import otp
from accounts.models import OtpChallenge, User
from core import ratelimit
from notifications.sms import SmsMessage
from tests.factories import PatientFactory
from tests.sms import code_in

pytestmark = pytest.mark.django_db

MOBILE = "98765 12340"
E164 = "+919876512340"


def request_code(
    api: APIClient, capture, mobile: str = MOBILE, address: str = "10.0.0.1"
) -> tuple[int, dict[str, Any]]:
    with capture(execute=True):
        response = api.post(
            "/api/auth/otp/request/", {"mobile": mobile}, format="json", REMOTE_ADDR=address
        )
    return response.status_code, response.json()


def newest_code(outbox: list[SmsMessage], to: str = E164) -> str:
    return code_in([m for m in outbox if m.to == to][-1].body)


def verify(api: APIClient, challenge_id: str, code: str, address: str = "10.0.0.1"):
    return api.post(
        "/api/auth/otp/verify/",
        {"challenge_id": challenge_id, "code": code},
        format="json",
        REMOTE_ADDR=address,
    )


def later(monkeypatch: pytest.MonkeyPatch, address: str = "10.0.0.1", **delta: float) -> None:
    """Move the clock forward; the cache-held cool-down slot of ``address`` and the number's
    back-off turn are cleared as their TTLs would."""
    moved = timezone.now() + timedelta(**delta)
    monkeypatch.setattr(timezone, "now", lambda: moved)
    cache.delete(otp.cooldown_slot_key(E164, ratelimit.client_key(address)))
    cache.delete(otp.number_turn_key(E164))


def test_it_signs_up_a_new_number(api, sms_outbox, django_capture_on_commit_callbacks):
    status, body = request_code(api, django_capture_on_commit_callbacks)
    assert status == 202
    response = verify(api, body["challenge_id"], newest_code(sms_outbox))
    assert response.status_code == 200
    data = response.json()
    assert data["new_account"] is True
    assert data["user"]["role"] == "patient"
    assert data["user"]["profile_complete"] is False
    assert User.objects.get(mobile=E164).has_usable_password() is False

    api.credentials(HTTP_AUTHORIZATION=f"Token {data['token']}")
    assert api.get("/api/me/").json()["username"] == E164


def test_it_signs_in_an_existing_family(api, sms_outbox, django_capture_on_commit_callbacks):
    holder = PatientFactory(account__mobile=E164, account__username=E164, name="Meena Kumari")
    _, body = request_code(api, django_capture_on_commit_callbacks)
    data = verify(api, body["challenge_id"], newest_code(sms_outbox)).json()
    assert data["new_account"] is False
    assert data["user"]["id"] == str(holder.account.public_id)
    assert data["user"]["full_name"] == "Meena Kumari"


def test_it_stores_only_a_hash_of_the_code(api, sms_outbox, django_capture_on_commit_callbacks):
    request_code(api, django_capture_on_commit_callbacks)
    code = newest_code(sms_outbox)
    challenge = OtpChallenge.objects.get(mobile=E164)
    stored = " ".join(
        str(v) for v in OtpChallenge.objects.filter(pk=challenge.pk).values().get().values()
    )
    assert code not in stored
    assert len(challenge.code_hash) == 64


def test_it_answers_alike_whether_or_not_the_number_is_registered(
    api, sms_outbox, django_capture_on_commit_callbacks
):
    PatientFactory(account__mobile="+919876500001", account__username="+919876500001")
    known_status, known = request_code(api, django_capture_on_commit_callbacks, "9876500001")
    unknown_status, unknown = request_code(
        api, django_capture_on_commit_callbacks, "9876500002", address="10.0.0.2"
    )
    assert known_status == unknown_status == 202
    assert known.keys() == unknown.keys()
    assert {k: v for k, v in known.items() if k != "challenge_id"} == {
        k: v for k, v in unknown.items() if k != "challenge_id"
    }
    assert len(sms_outbox) == 2


@pytest.mark.parametrize(
    "mobile",
    [
        "12345",
        "0123456789",
        "+14155552671",
        "abcdefghij",
        "",
        "5876543210",
        "98765 432101",
        "9" * 25,
    ],
)
def test_it_refuses_malformed_mobile_numbers(api, sms_outbox, mobile):
    response = api.post("/api/auth/otp/request/", {"mobile": mobile}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "mobile" in error["fields"]
    assert not OtpChallenge.objects.exists()
    assert sms_outbox == []


def test_it_accepts_the_usual_ways_of_writing_a_mobile(
    api, sms_outbox, django_capture_on_commit_callbacks
):
    for address, written in enumerate(["+91 98765 12340", "098765-12340", "9876512340"]):
        OtpChallenge.objects.all().delete()
        status, _ = request_code(
            api, django_capture_on_commit_callbacks, written, address=f"10.0.1.{address}"
        )
        assert status == 202
        assert OtpChallenge.objects.get().mobile == E164


def test_it_expires_a_code_after_five_minutes(
    api, sms_outbox, django_capture_on_commit_callbacks, monkeypatch
):
    _, body = request_code(api, django_capture_on_commit_callbacks)
    code = newest_code(sms_outbox)
    later(monkeypatch, minutes=5, seconds=1)
    response = verify(api, body["challenge_id"], code)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "otp_expired"
    assert not User.objects.filter(mobile=E164).exists()


def test_it_allows_at_most_five_attempts_per_code(
    api, sms_outbox, django_capture_on_commit_callbacks
):
    _, body = request_code(api, django_capture_on_commit_callbacks)
    code = newest_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    left = []
    for _ in range(5):
        response = verify(api, body["challenge_id"], wrong)
        assert response.status_code == 400
        left.append(response.json()["error"]["attempts_left"])
    assert left == [4, 3, 2, 1, 0]
    response = verify(api, body["challenge_id"], code)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "otp_attempts_exceeded"
    assert not User.objects.filter(mobile=E164).exists()


def test_it_refuses_a_replayed_code(api, sms_outbox, django_capture_on_commit_callbacks):
    _, body = request_code(api, django_capture_on_commit_callbacks)
    code = newest_code(sms_outbox)
    assert verify(api, body["challenge_id"], code).status_code == 200
    replay = verify(api, body["challenge_id"], code)
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "otp_used"


def test_only_the_newest_code_works(
    api, sms_outbox, django_capture_on_commit_callbacks, monkeypatch
):
    _, first = request_code(api, django_capture_on_commit_callbacks)
    first_code = newest_code(sms_outbox)
    later(monkeypatch, seconds=31)
    _, second = request_code(api, django_capture_on_commit_callbacks)
    second_code = newest_code(sms_outbox)
    assert verify(api, first["challenge_id"], first_code).json()["error"]["code"] == "otp_expired"
    assert verify(api, second["challenge_id"], second_code).status_code == 200


def test_it_makes_a_resend_wait_for_the_cool_down(
    api, sms_outbox, django_capture_on_commit_callbacks
):
    request_code(api, django_capture_on_commit_callbacks)
    status, body = request_code(api, django_capture_on_commit_callbacks)
    assert status == 429
    assert body["error"]["code"] == "otp_cooldown"
    assert 0 < body["error"]["retry_after"] <= 30
    assert len(sms_outbox) == 1


def test_it_caps_codes_per_number_per_hour_for_one_requester(
    api, sms_outbox, django_capture_on_commit_callbacks, monkeypatch
):
    for _ in range(5):
        status, _body = request_code(api, django_capture_on_commit_callbacks)
        assert status == 202
        later(monkeypatch, seconds=31 * (len(sms_outbox)))
    status, body = request_code(api, django_capture_on_commit_callbacks)
    assert status == 429
    assert body["error"]["code"] == "throttled"
    assert len(sms_outbox) == 5


@override_settings(OTP_MAX_PER_CLIENT_PER_HOUR=3)
def test_it_caps_codes_per_client_address(api, sms_outbox, django_capture_on_commit_callbacks):
    for n in range(3):
        status, _ = request_code(api, django_capture_on_commit_callbacks, f"98765000{n:02d}")
        assert status == 202
    status, body = request_code(api, django_capture_on_commit_callbacks, "9876500099")
    assert status == 429
    assert int(body["error"]["retry_after"]) > 0
    # Another client is not affected.
    status, _ = request_code(
        api, django_capture_on_commit_callbacks, "9876500099", address="10.9.9.9"
    )
    assert status == 202


def test_it_refuses_malformed_verification_input(api):
    for payload in (
        {"challenge_id": "not-a-uuid", "code": "123456"},
        {"challenge_id": "0b6f3b8e-3d8f-4ef7-9d53-6f4d3f1c2a10", "code": "12ab56"},
        {"challenge_id": "0b6f3b8e-3d8f-4ef7-9d53-6f4d3f1c2a10"},
    ):
        response = api.post("/api/auth/otp/verify/", payload, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"


def test_an_unknown_challenge_reads_as_a_wrong_code(api):
    response = verify(api, "0b6f3b8e-3d8f-4ef7-9d53-6f4d3f1c2a10", "123456")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "otp_invalid"


def test_it_refuses_oversized_payloads(api):
    response = api.post(
        "/api/auth/otp/request/",
        '{"mobile": "' + "9" * 400_000 + '"}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not OtpChallenge.objects.exists()


def test_it_refuses_malformed_json(api):
    response = api.post("/api/auth/otp/request/", "{mobile:", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_it_signs_out_by_revoking_the_token(api, sms_outbox, django_capture_on_commit_callbacks):
    _, body = request_code(api, django_capture_on_commit_callbacks)
    token = verify(api, body["challenge_id"], newest_code(sms_outbox)).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post("/api/auth/logout/").status_code == 204
    assert api.get("/api/me/").status_code == 401
