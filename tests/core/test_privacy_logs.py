"""No personal data in logs."""

from __future__ import annotations

import logging
import re

import pytest

from core.logging import RedactPersonalDataFilter, redact
from tests.sms import code_in


@pytest.mark.parametrize(
    "text",
    [
        "sent to +919876543210",
        "sent to 98765 43210",
        "sent to +91-98765-43210",
        "mail to sunita.devi@example.in",
        "abha 91-4163-2897-3647",
    ],
)
def test_it_redacts_personal_identifiers(text):
    cleaned = redact(text)
    assert not re.search(r"\d{5}", cleaned.replace(" ", "").replace("-", ""))
    assert "@example" not in cleaned


def test_it_leaves_ordinary_messages_alone():
    assert redact("claimed 42 tickets in 1500 ms") == "claimed 42 tickets in 1500 ms"


def test_it_keeps_public_ids_whole_even_when_they_end_in_digits():
    """A notification's public id ended in 12 digits and was logged as ``…-8314-[id]``, so the
    log line no longer named the message it was about."""
    public_id = "260880c1-cfc0-4b35-8314-432995302728"
    assert redact(f"Notification {public_id} not sent to 9876543210") == (
        f"Notification {public_id} not sent to [mobile]"
    )


def test_the_filter_rewrites_formatted_records():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "to %s", ("+919876543210",), None)
    RedactPersonalDataFilter().filter(record)
    assert record.getMessage() == "to [mobile]"


@pytest.mark.django_db
def test_signing_in_logs_neither_the_number_nor_the_code(
    client, sms_outbox, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/api/auth/otp/request/", {"mobile": "9876512340"}, content_type="application/json"
        )
    code = code_in(sms_outbox[-1].body)
    client.post("/signin/", {"mobile": "12345"})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "9876512340" not in logged
    assert code not in logged
