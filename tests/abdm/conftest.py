from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from abdm import bridge
from abdm import gateway as abdm_gateway
from tests.abdm.fake_gateway import FakeGateway


@pytest.fixture
def gateway(settings: SettingsWrapper) -> Iterator[FakeGateway]:
    fake = FakeGateway().start()
    settings.ABDM_GATEWAY_URL = fake.url
    bridge._jwks_client.cache_clear()
    abdm_gateway.forget_session()
    yield fake
    fake.stop()
    bridge._jwks_client.cache_clear()
