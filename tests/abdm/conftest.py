from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from abdm import bridge
from abdm import gateway as client
from tests.abdm.fake_gateway import FakeGateway
from tests.abdm.m2 import hip, receiver, recorder  # noqa: F401 - fixtures, used by name

# The offline gateway as a real process (tests/abdm_gateway/conftest.py), for the client's tests.
from tests.abdm_gateway.conftest import (  # noqa: F401 - fixtures, used by name
    _abdm_gateway_process,
    abdm_gateway,
    fresh_abdm_gateway,
)
from tests.abdm_gateway.harness import CLIENT_ID, CLIENT_SECRET, CM_ID, HIP_ID, Gateway

DEFAULT_TOKEN_TTL_S = 1200


def point_client_at(gateway: Gateway, settings: SettingsWrapper) -> None:
    """Our client's settings name the gateway's registered test client, as in a deployment."""
    settings.ABDM_GATEWAY_URL = gateway.base
    settings.ABDM_CLIENT_ID = CLIENT_ID
    settings.ABDM_CLIENT_SECRET = CLIENT_SECRET
    settings.ABDM_HIP_ID = HIP_ID
    settings.ABDM_CM_ID = CM_ID
    bridge._jwks_client.cache_clear()
    client.forget_session()


@pytest.fixture
def real_gateway(abdm_gateway: Gateway, settings: SettingsWrapper) -> Iterator[Gateway]:  # noqa: F811
    abdm_gateway.admin("settings", {"tokenTtlSeconds": DEFAULT_TOKEN_TTL_S})
    abdm_gateway.admin("deliveries/drop", {})  # earlier tests' callbacks are not this test's
    point_client_at(abdm_gateway, settings)
    yield abdm_gateway
    abdm_gateway.admin("settings", {"tokenTtlSeconds": DEFAULT_TOKEN_TTL_S})
    bridge._jwks_client.cache_clear()
    client.forget_session()


@pytest.fixture
def own_gateway(fresh_abdm_gateway: Gateway, settings: SettingsWrapper) -> Iterator[Gateway]:  # noqa: F811
    """A gateway of the test's own, for tests that rotate its keys or restart it."""
    point_client_at(fresh_abdm_gateway, settings)
    yield fresh_abdm_gateway
    bridge._jwks_client.cache_clear()
    client.forget_session()


@pytest.fixture
def gateway(settings: SettingsWrapper) -> Iterator[FakeGateway]:
    fake = FakeGateway().start()
    settings.ABDM_GATEWAY_URL = fake.url
    bridge._jwks_client.cache_clear()
    client.forget_session()
    yield fake
    fake.stop()
    bridge._jwks_client.cache_clear()


@pytest.fixture
def abha_service(real_gateway: Gateway, settings: SettingsWrapper) -> Iterator[Gateway]:
    """The offline gateway's ABHA service and registries, as our client's settings name them."""
    settings.ABDM_ABHA_URL = f"{real_gateway.url}/abha/api/v3"
    settings.ABDM_REGISTRY_URL = f"{real_gateway.url}/v4/int"
    real_gateway.admin("abha", {"otpTtlSeconds": 600, "tokenTtlSeconds": 1800})
    yield real_gateway
    real_gateway.admin("abha", {"otpTtlSeconds": 600, "tokenTtlSeconds": 1800})


# A visit in consultation (tests/consultations/conftest.py), for the linking tests.
from tests.consultations.conftest import visit  # noqa: E402, F401
