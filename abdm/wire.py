"""Small pieces of ABDM's wire format shared by the M2 flows (docs/abdm.md, "Wire shapes"):
times, the ``response`` that names the callback answered, error objects, the patient's
identifiers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from abdm.gateway import timestamp
from abdm.models import GatewayMessage
from patients.identifiers import format_abha_number
from patients.models import Patient

# HIP → gateway paths (ABDM.md, the M2 table).
GENERATE_TOKEN = "/v3/token/generate-token"  # noqa: S105 - a path
LINK_CARECONTEXT = "/hip/v3/link/carecontext"
ON_DISCOVER = "/user-initiated-linking/v3/patient/care-context/on-discover"
ON_INIT = "/user-initiated-linking/v3/link/care-context/on-init"
ON_CONFIRM = "/user-initiated-linking/v3/link/care-context/on-confirm"
ON_NOTIFY = "/consent/v3/request/hip/on-notify"
HI_ON_REQUEST = "/data-flow/v3/health-information/hip/on-request"
HI_NOTIFY = "/data-flow/v3/health-information/notify"

HI_TYPE_OF_CONTEXT = "OPConsultation"


def iso(moment: datetime) -> str:
    """UTC with milliseconds and Z, as every ABDM time."""
    return timestamp(moment)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from the wire (a time without a zone is UTC); ``None`` if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def answering(message: GatewayMessage) -> dict[str, Any]:
    return {"response": {"requestId": str(message.request_id)}}


def error(code: str, text: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": text}}


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def abha_identity(patient: Patient) -> dict[str, str]:
    return {
        "abhaNumber": format_abha_number(patient.abha_number) if patient.abha_number else "",
        "abhaAddress": patient.abha_address,
    }
