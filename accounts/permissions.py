"""Role checks shared by every API view; object checks live in each app's selectors."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import User


def signed_in_user(request: Request | HttpRequest) -> User:
    """The request's user, once a permission class has established one is signed in."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("signed_in_user() called on an anonymous request")
    return user


def _user(request: Request) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_active else None


class IsPatientAccount(BasePermission):
    message = _("Only patient accounts can do this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = _user(request)
        return bool(user and user.is_patient)


class IsStaff(BasePermission):
    message = _("Only doctors and administrators can do this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = _user(request)
        return bool(user and not user.is_patient)


class IsAdministrator(BasePermission):
    message = _("Only administrators can do this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = _user(request)
        return bool(user and user.is_administrator)
