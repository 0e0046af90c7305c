"""The dashboards in a browser: a state administrator signs in, finds the dashboard, sees charts
drawn and tables filled, and the live panel moves when a patient books; the national view; both
on a 360 px phone, by keyboard and through axe.

Rows (visits, rollups, accounts, the family's API token) are made before the browser opens; the
booking during the test goes through the live app's API, as the family's phone would send it.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from knox.models import AuthToken
from playwright.sync_api import Locator, Page, expect

from accounts.models import Role, User
from core.clock import india_today
from dashboards import rollups
from dashboards.queries import trends
from dashboards.selectors import Scope
from queues.models import Opd, Ticket
from tests.dashboards.conftest import ist, make_ticket
from tests.e2e.processes import ROOT, LiveApp
from tests.e2e.support import enter_staff_password
from tests.e2e.test_accessibility import small_screen_and_keyboard_problems
from tests.factories import STAFF_PASSWORD, DoctorFactory, PatientFactory, StaffFactory, state
from tests.queues.conftest import make_opd

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

OpenPage = Callable[..., Page]
CHART_JS = ROOT / "static" / "vendor" / "chart.js" / "chart.umd.js"
# Set DASHBOARD_SCREENSHOTS=<directory> to keep pictures of the pages for a visual review.
SCREENSHOTS = os.environ.get("DASHBOARD_SCREENSHOTS", "")

CHARTS_DRAWN_JS = """
() => {
  const canvases = [...document.querySelectorAll("canvas[data-chart]")];
  if (!window.Chart || canvases.length === 0) return false;
  return canvases.every((canvas) => {
    const chart = window.Chart.getChart(canvas);
    if (!chart || canvas.width === 0 || canvas.height === 0) return false;
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
  });
}
"""


@pytest.fixture(autouse=True)
def _chart_js_installed() -> None:
    """The live app's collectstatic copies what `make vendor` installed from npm."""
    if not CHART_JS.exists():
        pytest.fail(f"{CHART_JS} is missing: run `make vendor` (make test does).")


@dataclass(frozen=True)
class Month:
    """What the browser steps need, read before the browser opens."""

    admin: User
    start: date
    end: date
    booked: int
    completed: int
    opd: Opd
    patient_id: str
    family_token: str

    @property
    def query(self) -> str:
        return f"start={self.start.isoformat()}&end={self.end.isoformat()}"


def two_days_of_visits() -> Month:
    """A UP OPD, open all day, with two days of finished visits, rolled up."""
    opd = make_opd("DB", state_code="UP")
    doctor = DoctorFactory(user__full_name="Dr Neha Singh")
    end = india_today() - timedelta(days=1)
    start = end - timedelta(days=1)
    outcomes = [Ticket.Status.COMPLETED] * 5 + [Ticket.Status.CANCELLED, Ticket.Status.NO_SHOW]
    for day in (start, end):
        for hour, status in enumerate(outcomes, start=9):
            finished = status == Ticket.Status.COMPLETED
            make_ticket(
                opd,
                PatientFactory(),
                booked_at=ist(day, hour, 10),
                status=status,
                wait=timedelta(minutes=hour) if status != Ticket.Status.CANCELLED else None,
                consult=timedelta(minutes=7) if finished else None,
                doctor=doctor if finished else None,
            )
    rollups.refresh_slices(rollups.slices_between(start, end))
    figures = trends(Scope(state("UP")), start, end)
    family = PatientFactory(account__preferred_language="en")
    _instance, token = AuthToken.objects.create(user=family.account)
    return Month(
        admin=StaffFactory(role=Role.STATE_ADMIN, state=state("UP"), full_name="Anil Verma"),
        start=start,
        end=end,
        booked=sum(p.booked for p in figures.per_day),
        completed=sum(p.completed for p in figures.per_day),
        opd=opd,
        patient_id=str(family.public_id),
        family_token=str(token),
    )


def book_by_phone(app: LiveApp, month: Month) -> dict[str, Any]:
    payload = {"patient": month.patient_id, "opd": str(month.opd.public_id), "complaint": "Fever"}
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        app.url + "/api/tickets/",
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "Authorization": f"Token {month.family_token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201, response.status
        body: dict[str, Any] = json.loads(response.read())
        return body


def seconds_ago(age: Locator) -> int:
    found = re.search(r"(\d+) s ago", age.text_content() or "")
    assert found is not None, age.text_content()
    return int(found.group(1))


def sign_in(page: Page, username: str) -> None:
    enter_staff_password(page, username, STAFF_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/$"))


def expect_charts_drawn(page: Page) -> None:
    page.wait_for_function(CHARTS_DRAWN_JS, timeout=10_000)


def no_serious_axe_violations(page: Page) -> list[str]:
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    violations: list[dict[str, Any]] = axe.Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_a_state_administrator_reads_their_dashboard(
    open_page: OpenPage, live_app: LiveApp
) -> None:
    month = two_days_of_visits()
    page = open_page()
    sign_in(page, month.admin.username)

    page.get_by_role("link", name="Open the dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard: Uttar Pradesh")

    page.get_by_label("From", exact=True).fill(month.start.isoformat())
    page.get_by_label("To", exact=True).fill(month.end.isoformat())
    page.get_by_role("button", name="Show these dates").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/\?{month.query}$"))
    expect_charts_drawn(page)

    per_day = page.locator('[data-table="per-day"]')
    expect(per_day.locator("tbody tr")).to_have_count(2)
    expect(per_day.locator("tfoot td").nth(0)).to_have_text(str(month.booked))
    expect(per_day.locator("tfoot td").nth(1)).to_have_text(str(month.completed))
    summary = page.locator('[data-table="summary"]')
    expect(summary.locator("tr", has_text="Booked").locator("td")).to_have_text(str(month.booked))
    expect(page.locator('[data-table="doctors"]')).to_contain_text("Dr Neha Singh")
    # The table behind a chart opens from the keyboard.
    details = page.get_by_test_id("panel-per-day").locator("summary")
    details.focus()
    page.keyboard.press("Enter")
    expect(per_day).to_be_visible()

    # How fresh the figures are, counting on by itself (issue 9, item 31).
    figures_age = page.get_by_test_id("figures-freshness").locator("[data-freshness-age]")
    first = seconds_ago(figures_age)
    expect(figures_age).to_have_text(f"Figures for today were updated {first + 2} s ago.")

    csv_link = page.get_by_role("link", name="Download “Consultations per day” (CSV)")
    with page.expect_download() as download:
        csv_link.click()
    assert download.value.suggested_filename.startswith("esanjeevani-UP-per-day-")

    # Live now: a family books by phone and the panel moves without a reload.
    live = page.get_by_test_id("live")
    expect(live.locator("[data-connection]")).to_have_text("Live: figures update by themselves.")
    waiting = live.locator('[data-live-figure="waiting"]')
    before = int(waiting.text_content() or "0")
    live_age = live.get_by_test_id("live-freshness").locator("[data-freshness-age]")
    expect(live_age).not_to_have_text(re.compile(r"Updated [0-2] s ago"))
    page.evaluate("window.__sameDocument = true")
    book_by_phone(live_app, month)
    expect(waiting).to_have_text(str(before + 1), timeout=5_000)
    # The frame that brought the booking starts the live panel's count again.
    assert seconds_ago(live_age) <= 2
    expect(live.locator('[data-table="live"]')).to_contain_text(month.opd.name)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    # A fresh look at the page, as a keyboard user arrives on it.
    page.goto(f"/dashboard/?{month.query}")
    expect_charts_drawn(page)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/dashboard-state-360.png", full_page=True)
    problems = small_screen_and_keyboard_problems(page)
    assert not problems, "\n- ".join(problems)
    serious = no_serious_axe_violations(page)
    assert not serious, "\n".join(serious)


def test_the_national_administrator_compares_states_and_drills_down(
    open_page: OpenPage,
) -> None:
    month = two_days_of_visits()
    national = StaffFactory(role=Role.NATIONAL_ADMIN, full_name="Kavita Rao")
    page = open_page()
    sign_in(page, national.username)

    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("National dashboard")
    page.goto(f"/dashboard/?{month.query}")
    expect_charts_drawn(page)
    states = page.locator('[data-table="states"]')
    expect(states.locator("tbody tr")).to_have_count(36)
    up = states.locator("tbody tr", has_text="Uttar Pradesh")
    expect(up.locator("td").first).to_have_text(str(month.booked))
    expect(states.locator("tfoot td").first).to_have_text(str(month.booked))

    problems = small_screen_and_keyboard_problems(page)
    assert not problems, "\n- ".join(problems)
    serious = no_serious_axe_violations(page)
    assert not serious, "\n".join(serious)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/dashboard-national-360.png", full_page=True)

    # The states table stays open beside its chart: each name leads into that state.
    up.get_by_role("link", name="Uttar Pradesh").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/states/UP/\?{month.query}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard: Uttar Pradesh")
    expect_charts_drawn(page)
    expect(page.locator('[data-table="per-day"] tfoot td').first).to_have_text(str(month.booked))
    page.get_by_role("link", name="All states and UTs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("National dashboard")


def test_a_state_administrator_cannot_open_another_state(open_page: OpenPage) -> None:
    admin = StaffFactory(role=Role.STATE_ADMIN, state=state("MH"))
    page = open_page()
    sign_in(page, admin.username)
    response = page.goto("/dashboard/states/UP/")
    assert response is not None and response.status == 403
    code = page.evaluate(
        """() => new Promise((resolve) => {
          const socket = new WebSocket(`ws://${location.host}/ws/dashboard/live/?state=UP`);
          socket.addEventListener("close", (event) => resolve(event.code));
        })"""
    )
    assert code == 4403
