"""Checking doctors' HPR ids and facilities' HFR ids against the offline gateway's registries (a
real process; docs/abdm.md "The offline registries"): through the client, the admin actions and
``manage.py verify_registries``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from abdm import registries
from accounts.models import Role
from providers.models import Doctor, Facility, RegistryStatus
from tests.abdm_gateway.harness import Gateway, free_port
from tests.factories import DoctorFactory, FacilityFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("hpr_id", "status"),
    [
        ("asha.verma@hpr.abdm", RegistryStatus.VERIFIED),
        ("71100000000102", RegistryStatus.VERIFIED),
        ("rakesh.suspended@hpr.abdm", RegistryStatus.INACTIVE),
        ("nobody.here@hpr.abdm", RegistryStatus.NOT_FOUND),
    ],
)
def test_the_hpr_answers(abha_service: Gateway, hpr_id: str, status: RegistryStatus) -> None:
    assert registries.professional_status(hpr_id) == status


@pytest.mark.parametrize(
    ("hfr_id", "status"),
    [
        ("IN0910000162", RegistryStatus.VERIFIED),
        ("IN0910000999", RegistryStatus.INACTIVE),
        ("IN0910009999", RegistryStatus.NOT_FOUND),
    ],
)
def test_the_hfr_answers(abha_service: Gateway, hfr_id: str, status: RegistryStatus) -> None:
    assert registries.facility_status(hfr_id) == status


def doctors() -> tuple[Doctor, Doctor, Doctor, Doctor]:
    return (
        DoctorFactory(hpr_id="asha.verma@hpr.abdm"),
        DoctorFactory(hpr_id="rakesh.suspended@hpr.abdm"),
        DoctorFactory(hpr_id="nobody.here@hpr.abdm"),
        DoctorFactory(hpr_id=None),
    )


def test_an_administrator_checks_doctors_from_the_admin_and_sees_the_outcome(
    abha_service: Gateway,
) -> None:
    asha, rakesh, nobody, without = doctors()
    client = Client()
    client.force_login(StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True))
    changelist = "/admin/providers/doctor/"

    selected = [d.pk for d in (asha, rakesh, nobody, without)]

    answer = client.post(
        changelist, {"action": "verify_hpr", "_selected_action": selected}, follow=True
    )

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Verified: 1" in page and "Not found in the registry: 1" in page
    assert "Suspended or inactive: 1" in page and "Without an HPR ID, not checked: 1" in page
    for doctor, status in (
        (asha, RegistryStatus.VERIFIED),
        (rakesh, RegistryStatus.INACTIVE),
        (nobody, RegistryStatus.NOT_FOUND),
        (without, RegistryStatus.UNCHECKED),
    ):
        doctor.refresh_from_db()
        assert doctor.hpr_status == status
        assert (doctor.hpr_verified_at is None) == (status == RegistryStatus.UNCHECKED)
    suspended = client.get(changelist, {"hpr_status__exact": "inactive"}).content.decode()
    assert rakesh.name in suspended and asha.name not in suspended


def test_an_administrator_checks_facilities_from_the_admin(abha_service: Gateway) -> None:
    live = FacilityFactory(hfr_id="IN0910000162")
    closed = FacilityFactory(hfr_id="IN0910000999")
    client = Client()
    client.force_login(StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True))

    client.post(
        "/admin/providers/facility/",
        {"action": "verify_hfr", "_selected_action": [live.pk, closed.pk]},
    )

    live.refresh_from_db()
    closed.refresh_from_db()
    assert (live.hfr_status, closed.hfr_status) == (
        RegistryStatus.VERIFIED,
        RegistryStatus.INACTIVE,
    )
    listing = client.get("/admin/providers/facility/").content.decode()
    assert "Suspended or inactive" in listing


def test_the_command_checks_every_doctor_and_facility(abha_service: Gateway) -> None:
    asha, rakesh, nobody, _without = doctors()
    unknown_hub = FacilityFactory(hfr_id="IN0999000001")
    out = StringIO()

    call_command("verify_registries", stdout=out)

    assert "Doctors (HPR): 1 verified, 1 not_found, 1 inactive" in out.getvalue()
    assert Doctor.objects.get(pk=rakesh.pk).hpr_status == RegistryStatus.INACTIVE
    assert Doctor.objects.get(pk=nobody.pk).hpr_status == RegistryStatus.NOT_FOUND
    assert Facility.objects.get(pk=unknown_hub.pk).hfr_status == RegistryStatus.NOT_FOUND
    # The doctors' factory facilities are not in the registry either.
    assert Facility.objects.filter(hfr_status=RegistryStatus.NOT_FOUND).count() >= 1
    assert Doctor.objects.get(pk=asha.pk).hpr_status == RegistryStatus.VERIFIED


def test_a_registry_that_cannot_be_reached_records_nothing(
    abha_service: Gateway, settings: SettingsWrapper
) -> None:
    settings.ABDM_REGISTRY_URL = f"http://127.0.0.1:{free_port()}/v4/int"
    asha = DoctorFactory(hpr_id="asha.verma@hpr.abdm")
    with pytest.raises(CommandError, match="cannot be reached"):
        call_command("verify_registries", "--doctors", stdout=StringIO())
    asha.refresh_from_db()
    assert (asha.hpr_status, asha.hpr_verified_at) == (RegistryStatus.UNCHECKED, None)

    client = Client()
    client.force_login(StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True))
    answer = client.post(
        "/admin/providers/doctor/",
        {"action": "verify_hpr", "_selected_action": [asha.pk]},
        follow=True,
    )
    assert "cannot be reached just now" in answer.content.decode()
