"""``manage.py seed_demo`` (what ``make run`` calls): the demo's sign-ins, its family and its
round-the-clock OPD, safe to run again."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role, User
from consultations.models import Prescription
from patients.models import Patient
from providers.models import Doctor
from queues.models import Opd, Ticket
from tests.factories import state

DEMO_PASSWORD = "sanjeevani-demo"


def seed_demo() -> str:
    # A little history first, so that seed_demo's own call of seed_history finds visits
    # before today and adds none (the full 60 days would only make this test slow).
    call_command("seed_history", days=2, per_day=2, stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_creates_the_documented_sign_ins() -> None:
    output = seed_demo()

    assert "Demo sign-ins" in output
    roles = {
        "dr.asha": Role.DOCTOR,
        "dr.imran": Role.DOCTOR,
        "admin.up": Role.STATE_ADMIN,
        "admin.national": Role.NATIONAL_ADMIN,
    }
    for username, role in roles.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password(DEMO_PASSWORD)
    assert User.objects.get(username="admin.up").state == state("UP")
    assert Doctor.objects.filter(user__username__in=["dr.asha", "dr.imran"]).count() == 2


@pytest.mark.django_db
def test_it_creates_the_demo_family_and_keeps_up_general_opd_open() -> None:
    seed_demo()

    family = Patient.objects.filter(account__mobile="+919876543210", archived_at=None)
    assert family.count() == 4
    assert family.filter(relationship="self").count() == 1
    opd = Opd.objects.get(state=state("UP"), code="GM")
    assert sorted(opd.hours.values_list("weekday", flat=True)) == list(range(7))


@pytest.mark.django_db
def test_running_it_again_changes_nothing() -> None:
    seed_demo()
    before = (User.objects.count(), Patient.objects.count(), Ticket.objects.count())

    seed_demo()

    assert (User.objects.count(), Patient.objects.count(), Ticket.objects.count()) == before


@pytest.mark.django_db
def test_the_demo_family_has_signed_past_visits_to_share_through_abdm() -> None:
    seed_demo()

    signed = Prescription.objects.filter(
        consultation__patient__account__mobile="+919876543210", status=Prescription.Status.FINAL
    )
    by_member = sorted(signed.values_list("consultation__patient__name", flat=True))
    assert by_member == ["Ramesh Kumar", "Sunita Devi", "Sunita Devi", "Sunita Devi"]
    assert all(p.finalised_at is not None and p.finalised_at < timezone.now() for p in signed)
    assert all(p.number and p.verification_code and p.pdf_sha256 for p in signed)
    # Again: no second set of visits.
    seed_demo()
    assert signed.count() == 4
