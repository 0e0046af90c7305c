"""Downloads of a signed prescription: the PDF and the FHIR document bundle.

Only the patient's family account and the doctor the consultation was assigned to may download
(``selectors.prescription_for`` decides; anyone else gets the not-found page). A PDF the Celery
task has not stored yet is rendered here and then, so the patient never waits on a worker.
"""

from __future__ import annotations

import json
import uuid
from typing import TypeVar

from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from accounts.models import User
from audit.models import AccessEvent
from audit.services import record_access
from consultations import documents, fhir, selectors
from consultations.models import Prescription
from core.errors import Conflict


def _signed_prescription(request: HttpRequest, prescription_id: uuid.UUID) -> Prescription:
    if not isinstance(request.user, User):
        raise Http404
    prescription = selectors.prescription_for(request.user, prescription_id)
    if prescription.is_draft:
        raise Conflict(
            _("This prescription is still a draft: it has no document until it is signed."),
            code="draft",
        )
    return prescription


def _filename(prescription: Prescription, extension: str) -> str:
    version = f"-v{prescription.version}" if prescription.version > 1 else ""
    return f"prescription-{prescription.number}{version}.{extension}"


Response = TypeVar("Response", bound=HttpResponseBase)


def _private(response: Response) -> Response:
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_safe
def prescription_pdf(request: HttpRequest, prescription_id: uuid.UUID) -> HttpResponseBase:
    stored = documents.ensure_stored(_signed_prescription(request, prescription_id))
    record_access(
        request,
        AccessEvent.Action.PDF,
        stored.consultation.patient,
        subject=stored.public_id,
    )
    response = FileResponse(
        stored.pdf.open("rb"),
        as_attachment=True,
        filename=_filename(stored, "pdf"),
        content_type="application/pdf",
    )
    return _private(response)


@login_required
@require_safe
def prescription_fhir(request: HttpRequest, prescription_id: uuid.UUID) -> HttpResponse:
    prescription = _signed_prescription(request, prescription_id)
    record_access(
        request,
        AccessEvent.Action.FHIR,
        prescription.consultation.patient,
        subject=prescription.public_id,
    )
    body = json.dumps(
        fhir.document_bundle(prescription), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
    )
    response = HttpResponse(body, content_type="application/fhir+json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_filename(prescription, "fhir.json")
    )
    return _private(response)
