"""Which states' records an administrator may see: the rule "the national administrator sees
every state, a state administrator only their own state", written once.

Every app that scopes by state asks here (doctors and facilities, OPDs in the admin, the
dashboards, the access log's admin) and applies the answer to its own rows. What a doctor or a
family sees is not a matter of states: each app's own selectors decide that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from accounts.models import Role, User

RowT = TypeVar("RowT", bound=Model)


@dataclass(frozen=True)
class StateReach:
    """Every state (``every_state``), one state (``state_id``) or none."""

    every_state: bool = False
    state_id: int | None = None

    @property
    def administers(self) -> bool:
        """Whether it reaches any state at all."""
        return self.every_state or self.state_id is not None

    def covers(self, state_id: int | None) -> bool:
        """Whether a record of this state (``None``: a national one) is within reach. A state's
        administrator does not reach national records."""
        return self.every_state or (self.state_id is not None and state_id == self.state_id)

    def filter(self, rows: QuerySet[RowT], state_field: str) -> QuerySet[RowT]:
        """``rows`` within reach, ``state_field`` naming the foreign key to the state."""
        if self.every_state:
            return rows
        if self.state_id is None:
            return rows.none()
        return rows.filter(**{f"{state_field}_id": self.state_id})


NO_STATE = StateReach()
EVERY_STATE = StateReach(every_state=True)


def state_reach(user: User | AnonymousUser) -> StateReach:
    """The national administrator reaches every state, a state administrator their own (one
    without a state reaches none), everyone else no state."""
    if not isinstance(user, User) or not user.is_authenticated:
        return NO_STATE
    if user.role == Role.NATIONAL_ADMIN:
        return EVERY_STATE
    if user.role == Role.STATE_ADMIN and user.state_id is not None:
        return StateReach(state_id=user.state_id)
    return NO_STATE


def admin_site_reach(request: HttpRequest) -> StateReach:
    """The same rule on the admin site, which only active staff use and where a superuser counts
    as the national administrator."""
    user = request.user
    if not isinstance(user, User) or not user.is_active or not user.is_staff:
        return NO_STATE
    if user.is_superuser:
        return EVERY_STATE
    return state_reach(user)
