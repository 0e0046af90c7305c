"""The outbox: work a committed change implies is recorded with it, sent after the commit, and
sent again with back-off until it is done (issue 9, item 21)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis as redis_py
from django.db import transaction
from django.utils import timezone

from core import outbox
from core.models import OutboxMessage
from tests.celery_app import RECORDED
from tests.faults import PrivateRedis, celery_broker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def recorded() -> Iterator[list[object]]:
    RECORDED.clear()
    yield RECORDED
    RECORDED.clear()


def enqueue(key: str = "test:1", value: object = "work") -> OutboxMessage:
    with transaction.atomic():
        message = outbox.enqueue("tests.record", value, key=key)
    assert message is not None
    return message


def test_it_sends_the_task_once_the_change_commits(recorded):
    with transaction.atomic():
        outbox.enqueue("tests.record", "work", key="test:1")
        assert recorded == []  # not before the commit
    assert recorded == ["work"]


def test_nothing_is_recorded_or_sent_when_the_change_rolls_back(recorded):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue("tests.record", "work", key="test:1")
        raise RuntimeError("the change failed")
    assert recorded == []
    assert not OutboxMessage.objects.exists()


def test_a_key_seen_before_records_nothing(recorded):
    enqueue()
    with transaction.atomic():
        assert outbox.enqueue("tests.record", "other", key="test:1") is None
    assert recorded == ["work"]


def test_the_relay_sends_again_what_is_not_done_with_back_off(recorded):
    message = enqueue()
    created = message.created_at
    assert outbox.relay(now=created + timedelta(minutes=1)) == 0  # its own task may be running
    assert outbox.relay(now=created + outbox.FIRST_RELAY_AFTER) == 1
    assert outbox.relay(now=created + outbox.FIRST_RELAY_AFTER) == 0  # claimed: not twice
    second = created + outbox.FIRST_RELAY_AFTER + outbox.relay_interval(1)
    assert outbox.relay(now=second - timedelta(seconds=1)) == 0
    assert outbox.relay(now=second) == 1
    assert recorded == ["work", "work", "work"]

    assert outbox.complete("test:1")
    assert outbox.relay(now=second + timedelta(days=1)) == 0
    assert recorded == ["work", "work", "work"]


def test_the_back_off_doubles_up_to_an_hour():
    intervals = [outbox.relay_interval(n) for n in range(1, 8)]
    assert intervals[:4] == [timedelta(minutes=m) for m in (6, 12, 24, 48)]
    assert intervals[4:] == [timedelta(hours=1)] * 3


def test_it_gives_up_after_the_last_relay_and_says_so(recorded, caplog):
    message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(relays=outbox.MAX_RELAYS)
    with caplog.at_level(logging.ERROR, logger="core.outbox"):
        assert outbox.relay(now=timezone.now() + timedelta(days=2)) == 0
    assert OutboxMessage.objects.get(pk=message.pk).gave_up_at is not None
    assert "test:1" in caplog.text
    assert outbox.relay(now=timezone.now() + timedelta(days=3)) == 0
    assert [r.levelno for r in caplog.records if r.name == "core.outbox"] == [logging.ERROR]


def test_a_relay_while_the_broker_is_away_sends_on_a_later_relay(tmp_path, recorded):
    broker = PrivateRedis(tmp_path)
    broker.start()
    try:
        with celery_broker(broker.url):
            broker.stop()
            message = enqueue()  # the send after the commit fails: the row is the record
            later = message.created_at + outbox.FIRST_RELAY_AFTER
            assert outbox.relay(now=later) == 0

            broker.start()
            assert outbox.relay(now=later + outbox.relay_interval(1)) == 1
            queued = redis_py.Redis.from_url(broker.url).llen("default")
        assert queued == 1  # handed to the broker, for a worker to run
        assert recorded == []
    finally:
        broker.stop()
