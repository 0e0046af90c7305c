"""The waiting room over the API: OPDs, tokens, the polling fallback, and the doctor console."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPatientAccount, IsStaff, signed_in_user
from core.api.errors import PayloadTooLarge
from core.api.schema import refusal
from core.errors import NotFound
from core.ids import parse_uuid
from patients.selectors import family_member_for
from providers.models import Doctor
from providers.selectors import doctor_of
from queues import selectors
from queues.api_schema import ConsoleSummarySerializer, TicketSnapshotSerializer
from queues.attachments import CheckedUpload
from queues.booking_input import COMPLAINT_MAX_LENGTH, COMPLAINT_MIN_LENGTH, check_uploads
from queues.claims import CLAIMS
from queues.hours import opening_state, opens_later_today
from queues.models import Opd, PresenceLease, Ticket
from queues.services import console, duty, visits
from queues.services.booking import book


def upload_limit_bytes() -> int:
    return int(settings.ATTACHMENT_MAX_FILES * settings.ATTACHMENT_MAX_BYTES + 256 * 1024)


def refuse_oversized_upload(request: HttpRequest) -> None:
    """Refuse before reading the body: nobody needs more than the files we accept."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > upload_limit_bytes():
        raise PayloadTooLarge(_("The files are too large."))


class OpdSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(source="public_id")
    code = serializers.CharField()
    name = serializers.CharField(source="display_name")
    speciality = serializers.CharField(
        source="speciality.code",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="Null for a general OPD, which takes every patient",
    )
    national = serializers.BooleanField(source="is_national")
    open_now = serializers.SerializerMethodField()
    bookable = serializers.SerializerMethodField()
    next_opening = serializers.SerializerMethodField()

    def _state(self, opd: Opd) -> Any:
        return opening_state(opd, self.context["now"])

    def get_open_now(self, opd: Opd) -> bool:
        return bool(self._state(opd).is_open)

    def get_bookable(self, opd: Opd) -> bool:
        state = self._state(opd)
        return bool(state.is_open or opens_later_today(state, self.context["now"]))

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_opening(self, opd: Opd) -> str | None:
        state = self._state(opd)
        return state.next_opening.isoformat() if state.next_opening else None


class OpdQuerySerializer(serializers.Serializer[Any]):
    patient = serializers.UUIDField(help_text="A member of your family")


class BookingSerializer(serializers.Serializer[Any]):
    patient = serializers.UUIDField(help_text="A member of your family")
    opd = serializers.UUIDField()
    complaint = serializers.CharField(
        min_length=COMPLAINT_MIN_LENGTH, max_length=COMPLAINT_MAX_LENGTH
    )
    priority_reason = serializers.ChoiceField(
        choices=[("", "none"), *((claim.value, claim.value) for claim in CLAIMS)],
        required=False,
        default="",
        allow_blank=True,
        help_text=(
            "A priority claim, checked against the member's record: `pregnant` for a member "
            "recorded as female or other, aged 12 to 55; `disability` as declared (recorded with "
            "the account and shown to the doctor as declared by the family); `senior` only at 60 "
            "or more by the date of birth or age on record, which gets priority without asking. "
            "A claim the record rules out is refused: 400 `priority_claim_refused`, with the "
            "reason under `fields.priority_reason`."
        ),
    )
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list
    )

    def validate_files(self, files: list[Any]) -> list[CheckedUpload]:
        try:
            return check_uploads(files, name_each=True)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class TicketSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(source="public_id")
    token = serializers.CharField()
    status = serializers.CharField()
    opd = serializers.CharField(source="opd.display_name")
    patient = serializers.CharField(source="patient.name")
    booked_at = serializers.DateTimeField()
    waiting_room = serializers.SerializerMethodField()

    def get_waiting_room(self, ticket: Ticket) -> str:
        return f"/waiting/{ticket.public_id}/"


def _opd(public_id: Any) -> Opd:
    parsed = parse_uuid(public_id)
    opd = (
        Opd.objects.filter(public_id=parsed, is_active=True)
        .select_related("state", "speciality")
        .prefetch_related("hours")
        .first()
        if parsed
        else None
    )
    if opd is None:
        raise NotFound(_("No such OPD."))
    return opd


class OpdList(APIView):
    permission_classes = [IsPatientAccount]

    @extend_schema(
        summary="OPDs a family member may book, with whether each is open",
        parameters=[OpdQuerySerializer],
        responses={
            200: OpdSerializer(many=True),
            400: refusal("`patient` is missing or not an id (`invalid`)."),
            404: refusal("No such member in your family (`not_found`)."),
        },
    )
    def get(self, request: Request) -> Response:
        query = OpdQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        member = family_member_for(signed_in_user(request), query.validated_data["patient"])
        opds = selectors.opds_for_patient(member)
        context = {"now": timezone.now()}
        return Response(OpdSerializer(opds, many=True, context=context).data)


class TicketList(APIView):
    permission_classes = [IsPatientAccount]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        summary="Your family's tokens, newest first", responses={200: TicketSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        tickets = selectors.tickets_for_account(signed_in_user(request)).order_by("-booked_at")[:50]
        return Response(TicketSerializer(tickets, many=True).data)

    @extend_schema(
        summary="Book a token (multipart, to attach earlier prescriptions or reports)",
        request={"multipart/form-data": BookingSerializer, "application/json": BookingSerializer},
        responses={
            201: TicketSerializer,
            404: refusal("No such member in your family, or no such OPD (`not_found`)."),
            409: refusal(
                "`opd_closed` (with `next_opening`), `opd_full`, `waiting_room_full`, "
                "`already_booked` (with `token` and `ticket`), `opd_other_state`."
            ),
            413: refusal("The files are larger than allowed (`payload_too_large`)."),
        },
        description="Files: PDF, JPEG or PNG, checked by content.",
    )
    def post(self, request: Request) -> Response:
        refuse_oversized_upload(request._request)
        serializer = BookingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = signed_in_user(request)
        ticket = book(
            account=account,
            patient=family_member_for(account, data["patient"]),
            opd=_opd(data["opd"]),
            complaint=data["complaint"].strip(),
            priority_reason=data["priority_reason"],
            uploads=data["files"],
        )
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


class TicketStatus(APIView):
    """The waiting room's polling fallback: what the socket would have said."""

    permission_classes = [IsPatientAccount]

    @extend_schema(
        summary="A token's live state (position, estimated wait, CALL NOW)",
        responses={200: TicketSnapshotSerializer},
    )
    def get(self, request: Request, ticket_id: str) -> Response:
        ticket = selectors.ticket_for_account(signed_in_user(request), ticket_id)
        if ticket.is_active:
            visits.hold_presence(ticket, PresenceLease.POLL)
        return Response(selectors.snapshot(ticket))


class TicketAnswer(APIView):
    permission_classes = [IsPatientAccount]

    @extend_schema(
        summary="CALL NOW: join the doctor; answers the token's fresh state",
        request=None,
        responses={
            200: TicketSnapshotSerializer,
            409: refusal("The call is no longer waiting for you (`call_not_waiting`)."),
        },
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        account = signed_in_user(request)
        ticket = selectors.ticket_for_account(account, ticket_id)
        visits.answer_call(account, ticket)
        return Response(selectors.snapshot(selectors.ticket_for_account(account, ticket_id)))


class TicketCancel(APIView):
    permission_classes = [IsPatientAccount]

    @extend_schema(
        summary="Cancel a token",
        request=None,
        responses={
            200: TicketSerializer,
            409: refusal("The consultation has started or ended (`ticket_not_cancellable`)."),
        },
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        account = signed_in_user(request)
        ticket = visits.cancel_ticket(account, selectors.ticket_for_account(account, ticket_id))
        return Response(TicketSerializer(ticket).data)


# --- Doctor console -----------------------------------------------------------------------


def _doctor(request: Request) -> Doctor:
    doctor = doctor_of(signed_in_user(request))
    if doctor is None:
        raise NotFound(_("This account has no doctor profile."))
    return doctor


class DutySerializer(serializers.Serializer[Any]):
    opds = serializers.ListField(child=serializers.UUIDField(), max_length=50)


class SkipSerializer(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=list(visits.SKIP_REASONS))
    note = serializers.CharField(
        max_length=visits.SKIP_NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


NO_DOCTOR_PROFILE = refusal("This account has no doctor profile (an administrator's).")


class ConsoleView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="The doctor's console: duty, counts, next patients, current patient",
        responses={200: ConsoleSummarySerializer, 404: NO_DOCTOR_PROFILE},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.console_summary(_doctor(request)))


class ConsoleDuty(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Go on duty for these OPDs (an empty list goes off duty)",
        request=DutySerializer,
        responses={
            200: ConsoleSummarySerializer,
            400: refusal("`opd_not_allowed` (outside your state and specialities), `invalid`."),
            404: NO_DOCTOR_PROFILE,
        },
    )
    def post(self, request: Request) -> Response:
        doctor = _doctor(request)
        serializer = DutySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        console.perform(doctor, console.Action.DUTY, opd_ids=serializer.validated_data["opds"])
        return Response(selectors.console_summary(doctor))


class ConsoleHeartbeat(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Keep duty alive without a socket",
        request=None,
        responses={204: None, 404: NO_DOCTOR_PROFILE},
    )
    def post(self, request: Request) -> Response:
        duty.heartbeat(_doctor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConsoleResume(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Take patients again after a paused offer",
        request=None,
        responses={200: ConsoleSummarySerializer, 404: NO_DOCTOR_PROFILE},
    )
    def post(self, request: Request) -> Response:
        doctor = _doctor(request)
        console.perform(doctor, console.Action.RESUME)
        return Response(selectors.console_summary(doctor))


class ConsoleTicketAction(APIView):
    """Accept, skip or end: the doctor's patient (``action`` is set by the subclass)."""

    permission_classes = [IsStaff]
    action = console.Action.ACCEPT

    @extend_schema(
        request=None,
        responses={
            200: ConsoleSummarySerializer,
            404: refusal("No such patient in your care, or no doctor profile (`not_found`)."),
            409: refusal("The patient's status changed a moment ago (`ticket_state_changed`)."),
        },
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        doctor = _doctor(request)
        reason: dict[str, str] = {}
        if self.action == console.Action.SKIP:
            serializer = SkipSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            reason = serializer.validated_data
        console.perform(doctor, self.action, ticket_id=str(ticket_id), **reason)
        return Response(selectors.console_summary(doctor))


@extend_schema_view(post=extend_schema(summary="Accept the offered patient: CALL NOW shows"))
class ConsoleAccept(ConsoleTicketAction):
    action = console.Action.ACCEPT


@extend_schema_view(
    post=extend_schema(
        summary="Pass the offered patient on: they keep their place", request=SkipSerializer
    )
)
class ConsoleSkip(ConsoleTicketAction):
    action = console.Action.SKIP


@extend_schema_view(post=extend_schema(summary="End the consultation"))
class ConsoleEnd(ConsoleTicketAction):
    action = console.Action.END
