"""Who sees which dashboard: a ``Scope`` is one state or the whole country, and ``scope_for``
decides which a user may see. Pages, the API and the live socket all ask here."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import state_reach
from core.errors import NotFound
from core.models import State


@dataclass(frozen=True)
class Scope:
    """One state (``state`` set) or the whole country (``state`` None)."""

    state: State | None

    @property
    def is_national(self) -> bool:
        return self.state is None


def scope_for(user: User | AnonymousUser, state_code: str | None = None) -> Scope:
    """The scope ``user`` may see: a state administrator their state (asking for another state
    is refused), the national administrator the country or any ``state_code``. Raises
    ``PermissionDenied`` for anyone else and ``core.errors.NotFound`` for an unknown state."""
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied(_("Sign in as an administrator to see the dashboards."))
    reach = state_reach(user)
    if reach.every_state:
        if not state_code:
            return Scope(None)
        state = State.objects.filter(code__iexact=state_code).first()
        if state is None:
            raise NotFound(_("No such state or union territory."))
        return Scope(state)
    if reach.state_id is not None and user.state is not None:
        if state_code and state_code.upper() != user.state.code:
            raise PermissionDenied(_("You can only see your own state's dashboard."))
        return Scope(user.state)
    raise PermissionDenied(_("Only state and national administrators see the dashboards."))
