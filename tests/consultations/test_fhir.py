"""The signed prescription as FHIR document Bundles (NRCeS OPConsultRecord, PrescriptionRecord)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import translation
from fhir.resources.R4B.bundle import Bundle

from consultations import fhir, services
from consultations.models import MedicineLine, Prescription
from consultations.selectors import consultation_for_doctor
from core.clock import IST, india_today

pytestmark = pytest.mark.django_db

ABHA_NUMBER = "91123456789012"
SNOMED = "http://snomed.info/sct"
PARACETAMOL = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
}  # fmt: skip
CETIRIZINE = {
    "name": "Cetirizine", "strength": "10 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "hs", "duration_days": 5, "route": "oral", "timing": "any",
    "instructions": "May cause drowsiness",
}  # fmt: skip
FAKE_PDF = b"%PDF-1.4\n% a signed prescription\n%%EOF\n"


def write(visit, **overrides: Any) -> Prescription:
    consultation = consultation_for_doctor(visit.doctor, visit.public_id)
    data = {
        "chief_complaints": "Fever for 3 days",
        "diagnosis": "Dengue fever, suspected",
        "icd10_code": "A90",
        "investigations": "Complete blood count\nDengue NS1 antigen",
        "advice": "Drink plenty of fluids.",
        "follow_up_on": india_today() + timedelta(days=7),
        "vitals": {"temperature_c": 38.6, "bp_systolic": 118, "bp_diastolic": 76},
        **overrides,
    }
    medicines = data.pop("medicines", [PARACETAMOL, CETIRIZINE])
    return services.save_draft(services.draft_for(consultation), data=data, medicines=medicines)


def sign(visit, draft: Prescription) -> Prescription:
    services.finalise(draft, doctor=visit.doctor)
    return Prescription.objects.get(pk=draft.pk)


@pytest.fixture
def signed(visit) -> Prescription:
    """A finalised prescription: two medicines, ICD-10 code, follow-up date, ABHA number."""
    visit.patient.abha_number = ABHA_NUMBER
    visit.patient.save(update_fields=["abha_number"])
    return sign(visit, write(visit))


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


def only(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (found,) = resources(bundle, resource_type)
    return found


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(coding["system"], coding["code"]) for coding in concept.get("coding", [])}


def references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def canonical(bundle: dict[str, Any]) -> str:
    return json.dumps(bundle, sort_keys=True)


def test_it_builds_a_bundle_that_fhir_resources_parses(signed):
    document = fhir.op_consult_bundle(signed)

    parsed = Bundle.model_validate(document)

    assert parsed.type == "document"
    assert len(parsed.entry or []) == len(document["entry"])
    json.dumps(document)  # plain JSON types only


def test_it_puts_the_op_consult_composition_first(signed):
    document = fhir.op_consult_bundle(signed)

    composition = document["entry"][0]["resource"]
    assert document["type"] == "document"
    assert composition["resourceType"] == "Composition"
    assert composition["status"] == "final"
    assert codes(composition["type"]) == {(SNOMED, "371530004")}
    assert composition["meta"]["profile"] == [
        "https://nrces.in/ndhm/fhir/r4/StructureDefinition/OPConsultRecord"
    ]
    assert document["meta"]["profile"] == [
        "https://nrces.in/ndhm/fhir/r4/StructureDefinition/DocumentBundle"
    ]
    section_codes = [codes(section["code"]) for section in composition["section"]]
    for code in ("422843007", "721912009", "721963009", "736271009"):
        assert {(SNOMED, code)} in section_codes


def test_it_files_each_resource_under_its_section(signed):
    document = fhir.op_consult_bundle(signed)

    by_url = {entry["fullUrl"]: entry["resource"] for entry in document["entry"]}
    composition = document["entry"][0]["resource"]
    kinds = {
        section["code"]["coding"][0]["code"]: sorted(
            by_url[entry["reference"]]["resourceType"] for entry in section.get("entry", [])
        )
        for section in composition["section"]
    }
    assert kinds["422843007"] == ["Condition"]
    assert kinds["721912009"] == ["MedicationRequest", "MedicationRequest"]
    assert kinds["721963009"] == ["ServiceRequest", "ServiceRequest"]
    assert kinds["736271009"] == ["Appointment"]
    assert kinds["425044008"] == ["Observation", "Observation"]


def test_it_resolves_every_reference_to_an_entry_of_the_bundle(signed):
    document = fhir.op_consult_bundle(signed)

    full_urls = [entry["fullUrl"] for entry in document["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in document["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    found = list(references(document))
    assert found
    assert set(found) <= set(full_urls)


def test_it_identifies_the_patient_by_abha_number_and_patient_id(signed):
    patient = only(fhir.op_consult_bundle(signed), "Patient")

    by_type = {i["type"]["coding"][0]["code"]: i for i in patient["identifier"]}
    hin = by_type["HIN"]
    assert hin["type"]["coding"][0]["system"] == fhir.NDHM_IDENTIFIER_TYPE
    assert hin["value"].replace("-", "") == ABHA_NUMBER
    assert by_type["MR"]["system"] == fhir.PATIENT_ID_SYSTEM
    assert by_type["MR"]["value"] == signed.consultation.patient.patient_number
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1990-05-17"
    assert patient["name"] == [{"text": "Sunita Devi"}]


def test_it_gives_an_estimated_birth_date_as_the_year_only(visit):
    visit.patient.dob_is_estimated = True
    visit.patient.save(update_fields=["dob_is_estimated"])

    patient = only(fhir.op_consult_bundle(sign(visit, write(visit))), "Patient")

    assert patient["birthDate"] == "1990"


def test_it_identifies_the_doctor_by_registration_number_and_the_facility_by_hfr_id(signed):
    document = fhir.op_consult_bundle(signed)

    practitioner = only(document, "Practitioner")
    (licence,) = [i for i in practitioner["identifier"] if i["type"]["coding"][0]["code"] == "MD"]
    assert licence["value"] == "UPMC-45821"
    assert licence["system"] == f"{fhir.MEDICAL_REGISTRATION_SYSTEM}/UP"
    assert licence["assigner"]["display"] == "Uttar Pradesh Medical Council"
    assert practitioner["name"] == [{"text": "Dr Asha Verma"}]
    organization = only(document, "Organization")
    hfr_id = signed.consultation.doctor.facility.hfr_id
    (registered,) = organization["identifier"]
    assert (registered["system"], registered["value"]) == (fhir.HFR_SYSTEM, hfr_id)


def test_it_records_a_virtual_encounter(signed):
    encounter = only(fhir.op_consult_bundle(signed), "Encounter")

    assert encounter["class"]["code"] == "VR"
    assert encounter["status"] == "in-progress"  # the visit fixture's call has not ended
    assert encounter["period"]["start"].endswith("+05:30")


def test_it_times_each_medicine_from_its_frequency_and_duration(signed):
    requests = resources(fhir.op_consult_bundle(signed), "MedicationRequest")

    paracetamol, cetirizine = requests
    assert paracetamol["medicationCodeableConcept"] == {"text": "Paracetamol 500 mg tablet"}
    (dosage,) = paracetamol["dosageInstruction"]
    days = {"value": 3, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}
    assert dosage["timing"]["repeat"] == {
        "boundsDuration": days,
        "frequency": 3,
        "period": 1,
        "periodUnit": "d",
    }
    assert dosage["additionalInstruction"] == [{"text": "After food"}]
    assert dosage["text"] == "1 tablet, three times a day, after food, for 3 days, by mouth"
    assert codes(dosage["route"]) == {(SNOMED, "26643006")}
    night = cetirizine["dosageInstruction"][0]["timing"]["repeat"]
    assert (night["frequency"], night["when"], night["boundsDuration"]["value"]) == (1, ["HS"], 5)
    assert cetirizine["dosageInstruction"][0]["additionalInstruction"] == [
        {"text": "May cause drowsiness"}
    ]
    for request in requests:
        assert (request["status"], request["intent"]) == ("active", "order")
        assert request["authoredOn"] == signed.finalised_at.astimezone(IST).isoformat()
        assert request["groupIdentifier"]["value"] == signed.display_number


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        ("od", {"frequency": 1, "period": 1, "periodUnit": "d"}),
        ("bd", {"frequency": 2, "period": 1, "periodUnit": "d"}),
        ("qid", {"frequency": 4, "period": 1, "periodUnit": "d"}),
        ("weekly", {"frequency": 1, "period": 1, "periodUnit": "wk"}),
        ("stat", {"count": 1}),
        ("sos", {}),
    ],
)
def test_it_maps_every_frequency_to_a_timing(frequency, expected):
    line = MedicineLine(**{**PARACETAMOL, "frequency": frequency, "duration_days": 2})

    dosage = fhir.dosage_for(line).model_dump(mode="json")

    repeat = dosage["timing"]["repeat"]
    assert repeat.pop("boundsDuration")["value"] == 2
    assert repeat == expected
    assert dosage.get("asNeededBoolean", False) is (frequency == "sos")


def test_it_codes_the_diagnosis_in_icd10_and_links_it_to_the_medicines(signed):
    document = fhir.op_consult_bundle(signed)

    encounter = only(document, "Encounter")
    diagnosis_url = encounter["diagnosis"][0]["condition"]["reference"]
    diagnosis = next(e["resource"] for e in document["entry"] if e["fullUrl"] == diagnosis_url)
    assert diagnosis["code"] == {
        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "A90"}],
        "text": "Dengue fever, suspected",
    }
    for request in resources(document, "MedicationRequest"):
        assert request["reasonReference"] == [{"reference": diagnosis_url}]


def test_it_keeps_a_diagnosis_without_icd10_code_as_text(visit):
    document = fhir.op_consult_bundle(sign(visit, write(visit, icd10_code="")))

    encounter = only(document, "Encounter")
    url = encounter["diagnosis"][0]["condition"]["reference"]
    diagnosis = next(e["resource"] for e in document["entry"] if e["fullUrl"] == url)
    assert diagnosis["code"] == {"text": "Dengue fever, suspected"}


def test_it_proposes_the_follow_up_for_its_date(signed):
    appointment = only(fhir.op_consult_bundle(signed), "Appointment")

    day = signed.follow_up_on.isoformat()
    assert appointment["status"] == "proposed"
    assert appointment["requestedPeriod"] == [{"start": day, "end": day}]


def test_it_adds_a_referral_section_when_referred(visit):
    document = fhir.op_consult_bundle(sign(visit, write(visit, referral="District hospital ENT")))

    composition = document["entry"][0]["resource"]
    (section,) = [s for s in composition["section"] if codes(s["code"]) == {(SNOMED, "306206005")}]
    referral = next(
        e["resource"] for e in document["entry"] if e["fullUrl"] == section["entry"][0]["reference"]
    )
    assert referral["resourceType"] == "ServiceRequest"
    assert referral["code"] == {"text": "District hospital ENT"}


def test_it_carries_the_version_number_and_signing_time(signed):
    document = fhir.op_consult_bundle(signed)

    assert document["meta"]["versionId"] == "1"
    assert document["identifier"] == {
        "system": fhir.OP_CONSULT_RECORD_SYSTEM,
        "value": signed.display_number,
    }
    assert document["timestamp"] == signed.finalised_at.astimezone(IST).isoformat()


def test_it_exports_the_same_json_twice(signed):
    first = fhir.op_consult_bundle(signed)

    again = fhir.op_consult_bundle(Prescription.objects.get(pk=signed.pk))

    assert canonical(first) == canonical(again)


def test_it_exports_the_same_json_whatever_the_active_language(signed):
    english = fhir.op_consult_bundle(signed)

    with translation.override("hi"):
        hindi = fhir.op_consult_bundle(Prescription.objects.get(pk=signed.pk))

    assert canonical(english) == canonical(hindi)


def test_it_marks_a_correction_amended_replacing_the_first_version(visit, signed):
    correction = services.start_correction(signed, doctor=visit.doctor)
    services.save_draft(
        correction, data={"diagnosis": "Dengue fever"}, medicines=[PARACETAMOL, CETIRIZINE]
    )
    second = sign(visit, correction)
    first = Prescription.objects.get(pk=signed.pk)

    old, new = fhir.op_consult_bundle(first), fhir.op_consult_bundle(second)

    old_composition, new_composition = old["entry"][0]["resource"], new["entry"][0]["resource"]
    assert old_composition["status"] == "final"
    assert "relatesTo" not in old_composition
    assert new_composition["status"] == "amended"
    assert new_composition["relatesTo"] == [
        {"code": "replaces", "targetIdentifier": old_composition["identifier"]}
    ]
    assert new["meta"]["versionId"] == "2"
    assert new["identifier"]["value"] == f"{first.number}/2"
    assert new_composition["id"] != old_composition["id"]
    assert only(new, "Patient")["id"] == only(old, "Patient")["id"]


def test_it_refuses_a_draft(visit):
    draft = write(visit)

    for export in (fhir.op_consult_bundle, fhir.prescription_bundle, fhir.document_bundle):
        with pytest.raises(ValueError, match="draft"):
            export(draft)


def test_it_builds_a_prescription_record_with_one_section_of_all_medicines(signed):
    document = fhir.prescription_bundle(signed)

    Bundle.model_validate(document)
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert codes(composition["type"]) == {(SNOMED, "440545006")}
    assert composition["meta"]["profile"] == [
        "https://nrces.in/ndhm/fhir/r4/StructureDefinition/PrescriptionRecord"
    ]
    (section,) = composition["section"]
    assert codes(section["code"]) == {(SNOMED, "440545006")}
    requests = {f"urn:uuid:{r['id']}" for r in resources(document, "MedicationRequest")}
    assert len(requests) == 2
    assert {entry["reference"] for entry in section["entry"]} == requests
    assert set(references(document)) <= {entry["fullUrl"] for entry in document["entry"]}
    assert document["identifier"] == {
        "system": fhir.PRESCRIPTION_RECORD_SYSTEM,
        "value": signed.display_number,
    }


def store_pdf(prescription: Prescription, content: bytes, recorded: bytes = FAKE_PDF) -> None:
    prescription.pdf.save("rx.pdf", ContentFile(content), save=False)
    prescription.pdf_sha256 = hashlib.sha256(recorded).hexdigest()
    prescription.save(update_fields=["pdf", "pdf_sha256"])


def test_it_embeds_the_signed_pdf_once_stored(signed, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    store_pdf(signed, FAKE_PDF)

    record = fhir.prescription_bundle(signed)
    consult = fhir.op_consult_bundle(signed)

    binary = only(record, "Binary")
    assert binary["contentType"] == "application/pdf"
    assert base64.b64decode(binary["data"]) == FAKE_PDF
    section_refs = {e["reference"] for e in record["entry"][0]["resource"]["section"][0]["entry"]}
    assert f"urn:uuid:{binary['id']}" in section_refs
    attachment = only(consult, "DocumentReference")["content"][0]["attachment"]
    assert base64.b64decode(attachment["data"]) == FAKE_PDF
    assert attachment["size"] == len(FAKE_PDF)
    Bundle.model_validate(record)
    Bundle.model_validate(consult)


def test_it_leaves_the_pdf_out_until_stored(signed):
    assert resources(fhir.prescription_bundle(signed), "Binary") == []
    assert resources(fhir.op_consult_bundle(signed), "DocumentReference") == []


def test_it_leaves_out_a_pdf_that_is_not_the_one_recorded(signed, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    store_pdf(signed, b"%PDF-1.4\n% something else\n%%EOF\n")

    assert resources(fhir.prescription_bundle(signed), "Binary") == []
    assert resources(fhir.op_consult_bundle(signed), "DocumentReference") == []


def test_the_download_is_the_op_consult_record(signed):
    assert canonical(fhir.document_bundle(signed)) == canonical(fhir.op_consult_bundle(signed))


def test_it_says_so_when_a_prescription_has_advice_but_no_medicines(visit):
    prescription = sign(visit, write(visit, medicines=[]))

    record = fhir.prescription_bundle(prescription)
    consult = fhir.op_consult_bundle(prescription)

    Bundle.model_validate(record)
    (section,) = record["entry"][0]["resource"]["section"]
    assert "entry" not in section
    assert "No medicines prescribed." in section["text"]["div"]
    assert section["emptyReason"]["coding"][0]["code"] == "nilknown"
    consult_sections = [codes(s["code"]) for s in consult["entry"][0]["resource"]["section"]]
    assert {(SNOMED, "721912009")} not in consult_sections
