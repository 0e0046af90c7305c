"""The dashboards' pages and CSV exports: a state administrator's state, the national view and
its drill-down into any state. Who sees what is decided by ``selectors.scope_for`` alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import PageView
from accounts.models import User
from core import views as core_views
from core.errors import NotFound
from dashboards import cells, freshness, panels, queries, rollups, tables
from dashboards.forms import DateRange, DateRangeForm
from dashboards.freshness import Freshness
from dashboards.live import live_now
from dashboards.selectors import Scope, scope_for


def admin_page(view: PageView) -> PageView:
    """Signed-in administrators only (GET, never cached); the view receives the account.

    A refusal (not an administrator, another state, no such state) is answered here rather
    than raised: Django logs a raised ``PermissionDenied`` with its traceback, and a refusal is
    not an error. The response is still logged, as one WARNING line ("Forbidden: /path")."""

    @login_required(login_url="accounts:staff-signin")
    @require_GET
    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        try:
            if not isinstance(user, User) or not user.is_administrator:
                raise PermissionDenied
            return view(request, user, *args, **kwargs)
        except PermissionDenied:
            return core_views.permission_denied(request)
        except NotFound as refusal:
            return render(request, "errors/404.html", {"message": refusal.message}, status=404)
        except Http404:
            return core_views.page_not_found(request)

    return wrapper


def _scope(user: User, state: str | None) -> Scope:
    return scope_for(user, state.upper() if state else None)


def _area_name(scope: Scope) -> str:
    return scope.state.display_name if scope.state else _("India")


def _bad_range(request: HttpRequest, scope: Scope, form: DateRangeForm) -> HttpResponse:
    context = {"form": form, "area_name": _area_name(scope), "page_url": request.path}
    return render(request, "dashboards/bad_range.html", context, status=400)


def _csv_url(scope: Scope, slug: str, period: DateRange) -> str:
    if scope.state is None:
        path = reverse("dashboards:export", kwargs={"table": slug})
    else:
        path = reverse("dashboards:state-export", kwargs={"state": scope.state.code, "table": slug})
    return f"{path}?{urlencode(period.as_query())}"


def _page(request: HttpRequest, user: User, scope: Scope) -> HttpResponse:
    form = DateRangeForm.for_request(request.GET)
    if not form.is_valid():
        return _bad_range(request, scope, form)
    period = form.period
    figures_at = rollups.ensure_fresh()
    trends = queries.trends(scope, period.start, period.end)
    live = live_now(scope)

    def with_csv(panel: panels.Panel) -> panels.Panel:
        return replace(panel, csv_url=_csv_url(scope, panel.table.slug, period))

    states = None
    if scope.is_national:
        query = urlencode(period.as_query())

        def drill_down(code: str) -> str:
            return f"{reverse('dashboards:state', kwargs={'state': code})}?{query}"

        rows = queries.states_overview(period.start, period.end)
        states = with_csv(panels.states_panel(rows, drill_down, median=trends.wait_median_seconds))
    context = {
        "scope": scope,
        "area_name": _area_name(scope),
        "form": form,
        "period": period,
        "live": live,
        "live_panel": with_csv(panels.Panel(tables.live_table(live))),
        "live_longest_minutes": cells.Cell(live.longest_wait_seconds, "minutes").display,
        "live_freshness": Freshness.of(timezone.now(), freshness.LIVE),
        "figures_freshness": Freshness.of(figures_at, freshness.FIGURES),
        "states": states,
        "panels": [with_csv(panel) for panel in panels.trend_panels(trends)],
        "drilled_down": scope.state is not None and user.is_national_admin,
        "strings": {
            "live": _("Live: figures update by themselves."),
            "starting": _("Live updates are starting…"),
            "reconnecting": _("Reconnecting… the figures shown may be out of date."),
            "refused": _("Live updates stopped. Reload the page to try again."),
            "minutes": _("%(minutes)s min"),
        },
    }
    return render(request, "dashboards/dashboard.html", context)


@admin_page
def dashboard(request: HttpRequest, user: User) -> HttpResponse:
    """A state administrator's state, or the national view for the national administrator."""
    return _page(request, user, _scope(user, None))


@admin_page
def state_dashboard(request: HttpRequest, user: User, state: str) -> HttpResponse:
    return _page(request, user, _scope(user, state))


def _export_table(scope: Scope, slug: str, period: DateRange) -> cells.Table:
    rollups.ensure_fresh()
    build: Callable[[queries.Trends], cells.Table] | None = tables.TREND_TABLES.get(slug)
    if build is not None:
        return build(queries.trends(scope, period.start, period.end))
    if slug == "live":
        return tables.live_table(live_now(scope))
    if slug == "states" and scope.is_national:
        rows = queries.states_overview(period.start, period.end)
        median = queries.trends(scope, period.start, period.end).wait_median_seconds
        return tables.states_table(sorted(rows, key=lambda r: r.name), median=median)
    raise Http404


@admin_page
def export(request: HttpRequest, user: User, table: str, state: str | None = None) -> HttpResponse:
    """One table as CSV, scoped exactly like the page it belongs to."""
    scope = _scope(user, state)
    form = DateRangeForm.for_request(request.GET)
    if not form.is_valid():
        return _bad_range(request, scope, form)
    period = form.period
    built = _export_table(scope, table, period)
    area = scope.state.code if scope.state else "IN"
    filename = f"esanjeevani-{area}-{table}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
    return cells.csv_response(built, filename)
