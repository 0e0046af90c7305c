"""In Chromium: a family links Sunita's ABHA on our pages, her signed consultations are linked to
it, the PHR app (the offline gateway's consent manager) grants a consent and asks for the data,
and the family's history page shows the linked records, the consent and what was sent to whom.

This module runs its own Daphne and Celery worker (``live_app`` below overrides the session's),
pointed at an offline gateway of its own, and registers that Daphne as the gateway's bridge: the
web process the browser uses is the one that receives the gateway's callbacks, and the worker
does our side's ABDM work. The ABHA's links live in the gateway, so a gateway of the module's own
keeps them apart from the other tests' (tests/abdm/test_end_to_end.py links the same ABHA).

Once the browser is open the test thread makes no ORM calls (tests/e2e/conftest.py, Browsing):
it waits on the gateway's consent manager and on what the family's pages show.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from patients.models import Relationship, Sex
from tests.abdm.m2 import SIGNED_AT, signed_visits
from tests.abdm_gateway.harness import CLIENT_ID, CLIENT_SECRET, CM_ID, HIP_ID, Gateway
from tests.e2e.conftest import running_app
from tests.e2e.processes import LiveApp, ManagedProcess
from tests.e2e.support import SmsInbox, national, sign_in_patient
from tests.e2e.test_accessibility import small_screen_and_keyboard_problems
from tests.factories import PatientFactory
from tests.workers import wait_for, worker_database_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ABHA_NUMBER = "91-1234-5678-9015"  # Sunita Devi in the offline ABHA service (abha_data.py)
ABDM_TEST_OTP = "123456"
HIU = "District Hospital, Lucknow (demo HIU)"  # who the consent manager's consents name
VISIT_DAY = "10 Mar 2026"  # SIGNED_AT in India
VISITS = 3
# Linking, the consent and the transfer each go gateway → Daphne → worker → gateway.
WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    started = Gateway(tmp_path_factory.mktemp("abdm_gateway")).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def live_app(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
    gateway: Gateway,
) -> Iterator[LiveApp]:
    """Daphne and a worker whose ABDM settings name ``gateway``; Daphne is its bridge."""
    with django_db_blocker.unblock():
        database_url = worker_database_url()
    abdm = {
        "ABDM_GATEWAY_URL": gateway.base,
        "ABDM_ABHA_URL": f"{gateway.url}/abha/api/v3",
        "ABDM_REGISTRY_URL": f"{gateway.url}/v4/int",
        "ABDM_CLIENT_ID": CLIENT_ID,
        "ABDM_CLIENT_SECRET": CLIENT_SECRET,
        "ABDM_HIP_ID": HIP_ID,
        "ABDM_CM_ID": CM_ID,
    }
    with running_app(tmp_path_factory.mktemp("e2e_abdm"), database_url, abdm) as app:
        gateway.register_bridge(gateway.token(), app.url)
        yield app


def serious_axe_violations(page: Page) -> list[str]:
    axe = importlib.import_module("axe_playwright_python.sync_playwright")
    violations: list[dict[str, Any]] = axe.Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def fits_a_phone_and_passes_axe(page: Page) -> None:
    """No sideways scroll at 360 px, labelled fields, the skip link, and axe finds nothing
    serious.

    The keyboard check ends with Enter on the skip link, which adds ``#main`` to the address; a
    form posted from there is redirected to the next page with it, where the browser starts Tab
    inside <main>. So a page reached that way is first opened afresh, as a person arriving.
    """
    if "#" in page.url:
        page.goto(page.url.split("#", 1)[0])
    problems = small_screen_and_keyboard_problems(page) + serious_axe_violations(page)
    assert not problems, f"{page.url}:\n- " + "\n- ".join(problems)


def linked_at_gateway(gateway: Gateway) -> set[str]:
    """The care-context references the consent manager holds for the ABHA at our HIP."""
    links = gateway.admin(f"cm/links?abhaNumber={ABHA_NUMBER}")
    return {
        context["careContextReference"]
        for hip in links["hips"]
        if hip["hipId"] == HIP_ID
        for context in hip["careContexts"]
    }


def reload_until(page: Page, shown: Callable[[], bool], what: str, worker: ManagedProcess) -> None:
    """What a person does while something happens elsewhere: reload the page until it shows."""

    def reloaded_and_shown() -> bool:
        page.reload()
        return shown()

    wait_for(reloaded_and_shown, what, worker, WAIT_SECONDS)


def iso(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"))


def test_member_links_her_abha_and_sees_her_records_shared_in_her_history(
    gateway: Gateway, live_app: LiveApp, open_page: Callable[..., Page], sms: SmsInbox
) -> None:
    holder = PatientFactory(name="Ramesh Kumar", sex=Sex.MALE)
    sunita = PatientFactory(
        account=holder.account,
        relationship=Relationship.SPOUSE,
        name="Sunita Devi",
        sex=Sex.FEMALE,
        date_of_birth=date(1988, 3, 14),
    )
    references = sorted(str(visit.public_id) for visit in signed_visits(sunita, VISITS))
    mobile = national(str(holder.account.mobile))
    worker = live_app.process("celery worker")

    # The account holder signs in and links Sunita's ABHA from the family page.
    page = open_page()
    sign_in_patient(page, sms, mobile)
    expect(page).to_have_url(re.compile(r"/family/$"))
    page.get_by_role("link", name="Link ABHA for Sunita Devi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ABHA of Sunita Devi")
    page.get_by_role("link", name="Link an existing ABHA").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Link an ABHA for Sunita Devi")
    fits_a_phone_and_passes_axe(page)
    page.get_by_label("ABHA number (14 digits)").check()
    page.get_by_label("ABHA number, ABHA address or mobile number").fill(ABHA_NUMBER)
    page.get_by_role("button", name="Send the code").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Enter the code")
    fits_a_phone_and_passes_axe(page)
    page.get_by_label("6-digit code").fill(ABDM_TEST_OTP)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check and link the ABHA")
    expect(page.get_by_text("The ABHA matches our record.")).to_be_visible()
    expect(page.get_by_role("definition").first).to_have_text(ABHA_NUMBER)
    expect(page.get_by_text("Different", exact=True)).to_have_count(0)
    fits_a_phone_and_passes_axe(page)
    page.get_by_role("button", name="Link this ABHA to Sunita Devi").click()

    expect(page).to_have_url(re.compile(r"/family/(#main)?$"))
    expect(page.get_by_role("status")).to_contain_text(
        f"The ABHA {ABHA_NUMBER} is now linked to Sunita Devi."
    )
    expect(page.get_by_role("link", name="ABHA of Sunita Devi")).to_be_visible()
    expect(page.get_by_role("link", name="Link ABHA for Ramesh Kumar")).to_be_visible()

    # Our worker links her consultations HIP-initiated; the consent manager holds them...
    wait_for(
        lambda: set(references) <= linked_at_gateway(gateway),
        "her consultations linked at the consent manager",
        worker,
        WAIT_SECONDS,
    )
    # ...and once its answer has come back, her history says so.
    page.goto("/history/")
    records = page.get_by_role("region", name="Your records on ABDM")
    hers = records.get_by_role("region", name="Sunita Devi", exact=True)
    linked = hers.get_by_role("listitem").filter(has_text="Linked by eSanjeevani")
    reload_until(page, lambda: linked.count() == VISITS, "her records shown as linked", worker)
    expect(hers).to_contain_text(ABHA_NUMBER)
    expect(linked.filter(has_text=f"Consultation of {VISIT_DAY}")).to_have_count(VISITS)
    expect(hers).to_contain_text("Nothing has been shared.")

    # In her PHR app she grants the demo HIU a consent over them...
    consent = gateway.admin(
        "cm/consents",
        {
            "abhaNumber": ABHA_NUMBER,
            "hipId": HIP_ID,
            "careContexts": references,
            "hiTypes": ["OPConsultation", "Prescription"],
            "dateRange": {
                "from": iso(SIGNED_AT - timedelta(days=1)),
                "to": iso(SIGNED_AT + timedelta(days=1)),
            },
            "purpose": "CAREMGT",
        },
    )
    consents = hers.get_by_role("listitem").filter(has_text="Asked by")
    reload_until(page, lambda: consents.count() == 1, "the consent in her history", worker)
    expect(consents).to_contain_text(HIU)
    expect(consents).to_contain_text("Care management")
    expect(consents).to_contain_text("Consultation record, Prescription")
    expect(consents).to_contain_text("Granted")

    # ...and the HIU asks for the data: the consent manager receives and checks every document.
    transaction_id = gateway.admin(f"cm/consents/{consent['consentId']}/data-requests", {})[
        "transactionId"
    ]
    transfer: dict[str, Any] = {}

    def complete() -> bool:
        transfer.update(gateway.admin(f"cm/transactions/{transaction_id}"))
        return bool(transfer["state"] == "COMPLETE")

    wait_for(complete, "the transfer to complete", worker, WAIT_SECONDS)
    assert len(transfer["entries"]) == 2 * VISITS
    assert all(e["tagOk"] and e["checksumOk"] and e["bundleOk"] for e in transfer["entries"])

    # The family's history shows what was sent, to whom.
    page.reload()
    shares = hers.get_by_role("listitem").filter(has_text=f"sent to {HIU}")
    expect(shares).to_have_count(2 * VISITS)
    expect(
        shares.filter(has_text=f"Prescription of the consultation of {VISIT_DAY}")
    ).to_have_count(VISITS)
    expect(
        shares.filter(has_text=f"Consultation record of the consultation of {VISIT_DAY}")
    ).to_have_count(VISITS)
    expect(hers).not_to_contain_text("Nothing has been shared.")
    fits_a_phone_and_passes_axe(page)
