"""The one rule of the administrators' reach: the national administrator sees every state, a
state administrator only their own, everyone else none; on the admin site only active staff,
and a superuser as the national administrator."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from accounts.models import Role, User
from accounts.selectors import admin_site_reach, state_reach
from queues.models import Opd
from tests.factories import StaffFactory, state

pytestmark = pytest.mark.django_db


def on_admin_site(user: User | AnonymousUser):
    request = RequestFactory().get("/admin/")
    request.user = user
    return admin_site_reach(request)


def test_the_national_administrator_reaches_every_state_and_national_records(
    national_admin: User,
) -> None:
    reach = state_reach(national_admin)

    assert reach.every_state
    assert reach.covers(state("MH").pk)
    assert reach.covers(None)
    assert reach.filter(Opd.objects.all(), "state").count() == Opd.objects.count()


def test_a_state_administrator_reaches_their_state_only(up_admin: User) -> None:
    reach = state_reach(up_admin)

    assert reach.administers
    assert reach.covers(state("UP").pk)
    assert not reach.covers(state("MH").pk)
    assert not reach.covers(None)  # national OPDs are the national administrator's
    opds = reach.filter(Opd.objects.all(), "state")
    assert set(opds.values_list("state__code", flat=True)) <= {"UP"}


def test_doctors_patients_and_strangers_reach_no_state(doctor_user: User, family, db: None) -> None:
    for user in (doctor_user, family.account, AnonymousUser()):
        reach = state_reach(user)
        assert not reach.administers
        assert not reach.covers(state("UP").pk)
        assert not reach.filter(Opd.objects.all(), "state").exists()


def test_on_the_admin_site_a_superuser_reaches_every_state(up_admin: User) -> None:
    up_admin.is_staff = up_admin.is_superuser = True

    assert on_admin_site(up_admin).every_state


def test_on_the_admin_site_only_active_staff_reach_anything(up_admin: User) -> None:
    up_admin.is_staff = True
    assert on_admin_site(up_admin).state_id == state("UP").pk

    inactive = StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=True, is_active=False)
    not_staff = StaffFactory(role=Role.NATIONAL_ADMIN, is_staff=False)
    for user in (inactive, not_staff, AnonymousUser()):
        assert not on_admin_site(user).administers
