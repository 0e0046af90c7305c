"""Gateway traffic in the admin: national administrators follow calls by their ids; bodies,
which may name patients and their care, are never shown; nobody else sees the list."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from abdm.models import Flow, GatewayMessage, digest
from accounts.models import Role, User
from tests.factories import StaffFactory, state

pytestmark = pytest.mark.django_db

BODY = {"profile": {"patient": {"name": "Zebunnisa Qureshi", "phoneNumber": "9812312312"}}}
LIST = "/admin/abdm/gatewaymessage/"


def message() -> GatewayMessage:
    return GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.INBOUND,
        flow=Flow.PROFILE_SHARE,
        path="/api/v3/hip/patient/share",
        state=GatewayMessage.State.RECEIVED,
        body=BODY,
        body_digest=digest(BODY),
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_national_administrator_follows_a_call_without_seeing_its_body() -> None:
    stored = message()
    client = signed_in(StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True))
    listing = client.get(LIST, {"q": str(stored.request_id)})
    page = client.get(f"{LIST}{stored.pk}/change/")
    assert listing.status_code == page.status_code == 200
    assert str(stored.request_id) in listing.content.decode()
    assert stored.body_digest in page.content.decode()
    for text in (listing.content.decode(), page.content.decode()):
        assert "Zebunnisa" not in text and "9812312312" not in text
    assert client.post(f"{LIST}{stored.pk}/delete/", {"post": "yes"}).status_code == 403
    assert GatewayMessage.objects.filter(pk=stored.pk).exists()


def test_a_state_administrator_does_not_see_gateway_traffic() -> None:
    message()
    client = signed_in(StaffFactory(role=Role.STATE_ADMIN, state=state("UP"), is_staff=True))
    assert client.get(LIST).status_code == 403
