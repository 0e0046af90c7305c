"""A state's administrator edits that state's OPDs in the admin; nobody else's."""

from __future__ import annotations

import pytest

from accounts.models import Role
from queues.models import Opd
from tests.factories import StaffFactory, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def up_admin_client(client):
    admin = StaffFactory(role=Role.STATE_ADMIN, state=state("UP"), is_staff=True)
    client.force_login(admin)
    return client


def test_a_state_administrator_lists_only_their_states_opds(up_admin_client):
    page = up_admin_client.get("/admin/queues/opd/").content.decode()
    assert "Uttar Pradesh General OPD" in page
    assert "Bihar General OPD" not in page
    assert "National Paediatrics OPD" not in page


def test_a_state_administrator_changes_their_opds_limits(up_admin_client):
    opd = Opd.objects.get(state__code="UP", code="GM")
    page = up_admin_client.get(f"/admin/queues/opd/{opd.pk}/change/")
    assert page.status_code == 200
    form = {
        "code": "GM",
        "name": opd.name,
        "name_hi": opd.name_hi,
        "state": opd.state_id,
        "daily_token_limit": 800,
        "waiting_room_size": 400,
        "call_window_seconds": 150,
        "is_active": "on",
        "hours-TOTAL_FORMS": 0,
        "hours-INITIAL_FORMS": 0,
        "hours-MIN_NUM_FORMS": 0,
        "hours-MAX_NUM_FORMS": 1000,
    }
    response = up_admin_client.post(f"/admin/queues/opd/{opd.pk}/change/", form)
    assert response.status_code == 302
    opd.refresh_from_db()
    assert opd.daily_token_limit == 800
    assert opd.waiting_room_size == 400
    assert opd.call_window_seconds == 150


def test_a_state_administrator_cannot_open_another_states_opd(up_admin_client):
    bihar = Opd.objects.get(state__code="BR", code="GM")
    national = Opd.objects.get(code="PED", state=None)
    for opd in (bihar, national):
        response = up_admin_client.get(f"/admin/queues/opd/{opd.pk}/change/")
        assert response.status_code in (302, 403, 404)
        assert opd.name not in response.content.decode()


def test_a_state_administrator_sees_no_other_admin_pages(up_admin_client):
    assert up_admin_client.get("/admin/accounts/user/").status_code == 403
    assert up_admin_client.get("/admin/patients/patient/").status_code == 403


def test_the_national_administrator_sees_every_opd(client):
    admin = StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True)
    client.force_login(admin)
    page = client.get("/admin/queues/opd/?all=").content.decode()
    assert "National Paediatrics OPD" in page


def test_a_doctor_has_no_admin(client):
    doctor = StaffFactory(role=Role.DOCTOR)
    client.force_login(doctor)
    assert client.get("/admin/queues/opd/").status_code == 302


def test_the_admin_signs_in_through_staff_sign_in_with_its_second_factor(client):
    response = client.get("/admin/login/?next=/admin/queues/opd/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/signin/?next=%2Fadmin%2Fqueues%2Fopd%2F"
