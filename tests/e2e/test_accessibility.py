"""The patient pages on a 360 px phone, with a keyboard, and through axe-core."""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from patients.models import Relationship, Sex
from queues.services import visits
from tests.consultations.prescribing import sign
from tests.e2e.support import SmsInbox, ask_for_code, fresh_mobile, national, sign_in_patient
from tests.e2e.visits import in_consultation, opd_open_round_the_clock
from tests.factories import DoctorFactory, PatientFactory
from tests.pdfs import qr_payload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTH = 360
OpenPage = Callable[..., Page]


def _home(open_page: OpenPage, sms: SmsInbox) -> Page:
    page = open_page()
    page.goto("/")
    return page


def _patient_signin(open_page: OpenPage, sms: SmsInbox) -> Page:
    page = open_page()
    page.goto("/signin/")
    return page


def _code(open_page: OpenPage, sms: SmsInbox) -> Page:
    page = _patient_signin(open_page, sms)
    ask_for_code(page, fresh_mobile())
    return page


def _welcome(open_page: OpenPage, sms: SmsInbox) -> Page:
    page = open_page()
    sign_in_patient(page, sms, fresh_mobile())
    expect(page).to_have_url(re.compile(r"/welcome/$"))
    return page


def _family(open_page: OpenPage, sms: SmsInbox) -> Page:
    # Long names and a long place name are what overflow a small screen first.
    holder = PatientFactory(name="Venkata Lakshmi Narasimha Subrahmanya Sastry")
    PatientFactory(
        account=holder.account,
        relationship=Relationship.CHILD,
        name="अनुराधा कुमारी",
        sex=Sex.FEMALE,
    )
    page = open_page()
    sign_in_patient(page, sms, national(str(holder.account.mobile)))
    expect(page).to_have_url(re.compile(r"/family/$"))
    return page


def _history(open_page: OpenPage, sms: SmsInbox) -> Page:
    """A family whose consultation ended with a signed prescription."""
    visit = in_consultation(opd_open_round_the_clock(), DoctorFactory())
    sign(visit.ticket, lambda execute: contextlib.nullcontext())
    page = open_page()
    sign_in_patient(page, sms, visit.mobile)
    page.goto("/history/")
    expect(page.get_by_test_id("prescription")).to_have_count(1)
    page.reload()  # now with its own first look in "Who opened the records of your family"
    expect(page.get_by_test_id("look")).to_have_count(1)
    return page


def _after_visit(open_page: OpenPage, sms: SmsInbox) -> Page:
    """The waiting room once the visit is over: the prescription and the follow-up date."""
    doctor = DoctorFactory()
    visit = in_consultation(opd_open_round_the_clock(), doctor)
    visits.end_consultation(doctor, visit.ticket)
    sign(visit.ticket, lambda execute: contextlib.nullcontext())
    page = open_page()
    sign_in_patient(page, sms, visit.mobile)
    page.goto(f"/waiting/{visit.ticket.public_id}/")
    expect(page.get_by_test_id("follow-up")).to_be_visible()
    return page


def _verify(open_page: OpenPage, sms: SmsInbox) -> Page:
    """What a pharmacist's phone opens from the prescription's QR code, signed in or not."""
    family = _history(open_page, sms)
    pdf_url = family.get_by_role("link", name=re.compile("Download the PDF")).get_attribute("href")
    pdf = family.request.get(str(pdf_url)).body()
    with tempfile.TemporaryDirectory() as directory:
        verify_url = qr_payload(pdf, Path(directory))
    page = open_page()
    page.goto(verify_url)
    expect(page.get_by_test_id("genuine")).to_be_visible()
    return page


PATIENT_PAGES: dict[str, Callable[[OpenPage, SmsInbox], Page]] = {
    "home": _home,
    "patient-signin": _patient_signin,
    "code": _code,
    "welcome": _welcome,
    "family": _family,
    "history": _history,
    "after-visit": _after_visit,
    "verify": _verify,
}


@pytest.fixture(params=list(PATIENT_PAGES))
def patient_page(request: pytest.FixtureRequest, open_page: OpenPage, sms: SmsInbox) -> Page:
    page = PATIENT_PAGES[request.param](open_page, sms)
    assert page.viewport_size == {"width": WIDTH, "height": 740}
    return page


UNLABELLED_FIELDS_JS = """
() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => !["hidden", "submit", "button", "reset", "image"].includes(el.type))
  .filter((el) => {
    const byLabel = [...(el.labels || [])].some((label) => label.textContent.trim() !== "");
    const byAria = (el.getAttribute("aria-label") || "").trim() !== "";
    const byIds = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean)
      .some((id) => (document.getElementById(id)?.textContent || "").trim() !== "");
    return !(byLabel || byAria || byIds);
  })
  .map((el) => el.outerHTML)
"""


def _is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("(el) => el === document.activeElement"))


def small_screen_and_keyboard_problems(page: Page) -> list[str]:
    """What stops a patient with a 360 px phone, a screen reader or a keyboard on this page."""
    problems: list[str] = []

    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll_width > WIDTH:
        problems.append(f"scrolls sideways: {scroll_width} px of content on a {WIDTH} px screen")

    unlabelled = page.evaluate(UNLABELLED_FIELDS_JS)
    if unlabelled:
        problems.append(f"fields without an accessible label: {unlabelled}")
    # Every label also finds its field the way assistive technology does.
    for field in page.locator("main input:not([type=hidden]), main select").all():
        label = page.locator(f"label[for='{field.get_attribute('id')}']")
        if label.count() == 1:
            name = " ".join((label.text_content() or "").split())
            if page.get_by_label(name, exact=True).count() < 1:
                problems.append(f"get_by_label({name!r}) finds nothing")

    skip = page.get_by_role("link", name="Skip to main content")
    if skip.count() != 1:
        problems.append("no (single) 'Skip to main content' link")
        return problems
    page.keyboard.press("Tab")
    if not _is_focused(skip):
        focused = page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")
        problems.append(f"the first Tab focuses {focused}, not the skip link")
        return problems
    box = skip.bounding_box()
    if box is None or box["y"] < 0:
        problems.append(f"the focused skip link is off screen: {box}")
    page.keyboard.press("Enter")
    if not _is_focused(page.locator("main#main")):
        focused = page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")
        problems.append(f"Enter on the skip link focuses {focused}, not <main>")
    return problems


def test_patient_page_fits_a_small_screen_and_works_by_keyboard(patient_page: Page) -> None:
    problems = small_screen_and_keyboard_problems(patient_page)
    assert not problems, f"{patient_page.url}:\n- " + "\n- ".join(problems)


def test_patient_page_has_no_serious_axe_violations(patient_page: Page) -> None:
    axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe_playwright.Axe().run(patient_page)
    violations: list[dict[str, Any]] = results.response["violations"]
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in serious
    )
    assert not serious, f"{patient_page.url}:\n{report}"


def _tab_to(page: Page, target: Locator, *, max_tabs: int = 30) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        if _is_focused(target):
            return
    raise AssertionError(f"{max_tabs} Tab presses never reached {target}")


def test_patient_signs_in_and_registers_with_the_keyboard_only(
    open_page: OpenPage, sms: SmsInbox
) -> None:
    page = open_page()
    mobile = fresh_mobile()
    page.goto("/")

    _tab_to(page, page.get_by_role("link", name="Sign in or register with your mobile number"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/signin/$"))

    _tab_to(page, page.get_by_label("Mobile number"))
    page.keyboard.type(mobile)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/signin/code/$"))

    _tab_to(page, page.get_by_label("6-digit code"))
    page.keyboard.type(sms.code_for(mobile))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/welcome/$"))

    _tab_to(page, page.get_by_label("Full name"))
    page.keyboard.type("Meena Kumari")
    _tab_to(page, page.get_by_label("Female", exact=True))
    page.keyboard.press("Space")
    _tab_to(page, page.get_by_label("Or age in years"))
    page.keyboard.type("34")
    # A closed <select> picks the option whose text starts with what is typed.
    _tab_to(page, page.get_by_label("State or Union Territory"))
    page.keyboard.type("Uttar Pradesh")
    expect(page.get_by_label("State or Union Territory")).to_have_value("UP")
    _tab_to(page, page.get_by_label("District"))
    page.keyboard.type("Lucknow")
    _tab_to(page, page.get_by_label("Language for consultations"))
    page.keyboard.type("English")
    expect(page.get_by_label("Language for consultations")).to_have_value("en")
    _tab_to(page, page.get_by_role("button", name="Save and continue"))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/family/$"))
    expect(page.get_by_test_id("whoami-name")).to_have_text("Meena Kumari")
    expect(page.get_by_test_id("member")).to_contain_text("Lucknow, Uttar Pradesh")
    expect(page.get_by_test_id("member")).to_contain_text("34 years (estimated)")
