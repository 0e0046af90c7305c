"""Reference data (open to all), doctors and facilities, and the administrators' dashboards."""

from __future__ import annotations

from providers.models import Facility
from tests.core.apicontract.checker import Contract
from tests.core.apicontract.registry import drives
from tests.core.apicontract.world import World
from tests.factories import DoctorFactory, district, state


@drives("states_list")
def states(api: Contract, world: World) -> None:
    assert len(api.call("GET", "/api/states/", expect=200).json()) == 36


@drives("states_districts_list")
def districts(api: Contract, world: World) -> None:
    listed = api.call("GET", "/api/states/up/districts/", expect=200).json()
    assert "Lucknow" in {d["name"] for d in listed}
    api.call("GET", "/api/states/ZZ/districts/", expect=404)


@drives("languages_list")
def languages(api: Contract, world: World) -> None:
    assert "hi" in {lang["code"] for lang in api.call("GET", "/api/languages/", expect=200).json()}


def _refused_to_non_administrators(api: Contract, world: World, path: str) -> None:
    api.call("GET", path, expect=401)
    api.call("GET", path, expect=403, user=world.doctor.user)
    api.call("GET", path, expect=403, user=world.patient)


@drives("doctors_list")
def doctors(api: Contract, world: World) -> None:
    # Facilities with and without a district; a doctor without an HPR ID.
    DoctorFactory(facility__district=district("UP", "Lucknow"), hpr_id=None)
    page = api.call("GET", "/api/doctors/", expect=200, user=world.state_admin).json()
    assert page["count"] == 3
    assert {d["facility"]["district"] is None for d in page["results"]} == {True, False}
    small = api.call(
        "GET", "/api/doctors/", query={"limit": "1"}, expect=200, user=world.national_admin
    ).json()
    assert small["next"] is not None and len(small["results"]) == 1
    _refused_to_non_administrators(api, world, "/api/doctors/")


@drives("doctors_me_retrieve")
def my_doctor_profile(api: Contract, world: World) -> None:
    profile = api.call("GET", "/api/doctors/me/", expect=200, user=world.doctor.user).json()
    assert profile["name"] == "Dr Asha Verma"
    api.call("GET", "/api/doctors/me/", expect=404, user=world.state_admin)
    api.call("GET", "/api/doctors/me/", expect=403, user=world.patient)
    api.call("GET", "/api/doctors/me/", expect=401)


@drives("facilities_list")
def facilities(api: Contract, world: World) -> None:
    # HFR ids beyond FacilityFactory's sequence (IN09 + its counter), which reaches 77 and 78
    # when enough factories ran earlier in the session.
    Facility.objects.create(name="PHC Kakori", state=state("UP"), hfr_id="IN0999000077")
    Facility.objects.create(
        name="CHC Malihabad",
        state=state("UP"),
        district=district("UP", "Lucknow"),
        hfr_id="IN0999000078",
    )
    page = api.call("GET", "/api/facilities/", expect=200, user=world.state_admin).json()
    assert {f["district"] is None for f in page["results"]} == {True, False}
    _refused_to_non_administrators(api, world, "/api/facilities/")


def _dashboard(api: Contract, world: World, path: str, *, bad: dict[str, str]) -> None:
    admin = world.national_admin if path.endswith("/states/") else world.state_admin
    api.call("GET", path, expect=200, user=admin)
    api.call("GET", path, query=bad, expect=400, user=world.national_admin)
    _refused_to_non_administrators(api, world, path)


@drives("dashboards_trends_retrieve")
def trends(api: Contract, world: World) -> None:
    path = "/api/dashboards/trends/"
    _dashboard(api, world, path, bad={"start": "yesterday"})
    api.call("GET", path, query={"state": "1"}, expect=400, user=world.state_admin)
    api.call("GET", path, query={"state": "MH"}, expect=403, user=world.state_admin)
    api.call("GET", path, query={"state": "ZZ"}, expect=404, user=world.national_admin)


@drives("dashboards_states_retrieve")
def states_overview(api: Contract, world: World) -> None:
    path = "/api/dashboards/states/"
    _dashboard(api, world, path, bad={"end": "2026-02-30"})
    api.call("GET", path, expect=403, user=world.state_admin)


@drives("dashboards_live_retrieve")
def live(api: Contract, world: World) -> None:
    path = "/api/dashboards/live/"
    world.waiting()
    _dashboard(api, world, path, bad={"state": "1"})
    api.call("GET", path, query={"state": "MH"}, expect=403, user=world.state_admin)
    api.call("GET", path, query={"state": "ZZ"}, expect=404, user=world.national_admin)
