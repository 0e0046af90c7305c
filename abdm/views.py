"""The bridge: ABDM's gateway calls these paths (docs/abdm.md, "The HIP client and bridge").

Server to server: no session, no CSRF; the gateway's signed JWT is the only credential. A valid
call is stored and answered 202 at once; a Celery task processes it. A repeated REQUEST-ID (the
gateway retrying after our 202 was lost) is answered 202 again and changes nothing: ABDM's
gateway treats any non-2xx as a failed delivery and would keep retrying.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from abdm import bridge, services
from abdm.models import Flow

# Our callback paths (under /api/v3/) and the flow each belongs to: ABDM.md, the M2 table.
CALLBACK_PATHS: dict[str, Flow] = {
    "hip/patient/care-context/discover": Flow.DISCOVER,
    "hip/link/care-context/init": Flow.LINK_INIT,
    "hip/link/care-context/confirm": Flow.LINK_CONFIRM,
    "hip/token/on-generate-token": Flow.ON_GENERATE_TOKEN,
    "link/on_carecontext": Flow.ON_CARECONTEXT,
    "consent/request/hip/notify": Flow.CONSENT_NOTIFY,
    "hip/health-information/request": Flow.HI_REQUEST,
    "hip/patient/share": Flow.PROFILE_SHARE,
}


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
@require_POST
def callback(request: HttpRequest, flow: Flow) -> JsonResponse:
    try:
        bridge.verify_token(request.headers.get("Authorization", ""))
        bridge.parse_timestamp(request.headers.get("TIMESTAMP", ""))
        request_id = bridge.parse_request_id(request.headers.get("REQUEST-ID", ""))
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bridge.CallRefused(400, "ABDM-1017", "The body is not JSON.") from exc
        if not isinstance(body, dict):
            raise bridge.CallRefused(400, "ABDM-1017", "The body must be a JSON object.")
    except bridge.CallRefused as refused:
        return _error(refused.status, refused.code, refused.message)
    services.record_callback(request_id=request_id, flow=flow, path=request.path, body=body)
    return JsonResponse({}, status=202)
