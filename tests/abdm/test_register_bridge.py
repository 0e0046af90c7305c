"""``manage.py abdm_register_bridge``: after it, the gateway's callbacks reach the URL it named
(as ABDM's sandbox needs once per client); a gateway that is down is a clear error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.abdm_gateway.harness import Bridge, Gateway, free_port

NOTIFY = "/api/v3/consent/request/hip/notify"


@pytest.fixture
def listener() -> Iterator[Bridge]:
    bridge = Bridge().start()
    yield bridge
    bridge.stop()


def test_the_registered_url_receives_the_gateways_callbacks(
    own_gateway: Gateway, listener: Bridge
) -> None:
    call_command("abdm_register_bridge", listener.url)

    own_gateway.enqueue(NOTIFY, {"notification": {"status": "GRANTED", "consentId": "c-9"}})

    received = listener.wait_for(1)
    assert received[0].path == NOTIFY
    assert received[0].body["notification"]["consentId"] == "c-9"


def test_a_gateway_that_is_down_is_a_clear_error(settings: SettingsWrapper) -> None:
    settings.ABDM_GATEWAY_URL = f"http://127.0.0.1:{free_port()}/api/hiecm"
    with pytest.raises(CommandError, match="could not be reached"):
        call_command("abdm_register_bridge", "https://hip.example.in")


def test_a_url_that_is_not_http_is_refused(own_gateway: Gateway) -> None:
    with pytest.raises(CommandError, match="http"):
        call_command("abdm_register_bridge", "ftp://hip.example.in")
