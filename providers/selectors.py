"""Who may see which doctors and facilities."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Role, User
from accounts.selectors import state_reach
from providers.models import Doctor, Facility


def doctors_for(user: User) -> QuerySet[Doctor]:
    """National administrators see every doctor, a state administrator those of their state,
    a doctor only themselves, patients none."""
    doctors = Doctor.objects.select_related("user", "home_state", "facility").prefetch_related(
        "specialities", "languages"
    )
    if not user.is_authenticated:
        return doctors.none()
    reach = state_reach(user)
    if reach.administers:
        return reach.filter(doctors, "home_state")
    if user.role == Role.DOCTOR:
        return doctors.filter(user=user)
    return doctors.none()


def facilities_for(user: User) -> QuerySet[Facility]:
    facilities = Facility.objects.select_related("state", "district")
    if not user.is_authenticated:
        return facilities.none()
    reach = state_reach(user)
    if reach.administers:
        return reach.filter(facilities, "state")
    if user.role == Role.DOCTOR:
        return facilities.filter(doctors__user=user)
    return facilities.none()


def doctor_of(user: User) -> Doctor | None:
    if not user.is_authenticated or not user.is_doctor:
        return None
    return Doctor.objects.filter(user=user).select_related("user").first()
