"""The waiting room over the API: OPDs, tokens, the polling fallback, and the doctor console."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPatientAccount, IsStaff, signed_in_user
from core.api.errors import PayloadTooLarge
from core.errors import NotFound
from core.ids import parse_uuid
from patients.selectors import family_member_for
from providers.models import Doctor
from providers.selectors import doctor_of
from queues import selectors
from queues.attachments import CheckedUpload, check_upload
from queues.hours import opening_state, opens_later_today
from queues.models import Opd, PresenceLease, Ticket
from queues.services import duty, visits
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
    speciality = serializers.CharField(source="speciality.code", default=None)
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

    def get_next_opening(self, opd: Opd) -> str | None:
        state = self._state(opd)
        return state.next_opening.isoformat() if state.next_opening else None


class BookingSerializer(serializers.Serializer[Any]):
    patient = serializers.UUIDField(help_text="A member of your family")
    opd = serializers.UUIDField()
    complaint = serializers.CharField(min_length=3, max_length=1000)
    priority_reason = serializers.ChoiceField(
        choices=[("", "none"), ("pregnant", "pregnant"), ("disability", "disability")],
        required=False,
        default="",
        allow_blank=True,
    )
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list
    )

    def validate_files(self, files: list[Any]) -> list[CheckedUpload]:
        if len(files) > settings.ATTACHMENT_MAX_FILES:
            raise serializers.ValidationError(
                _("At most %(count)d files.") % {"count": settings.ATTACHMENT_MAX_FILES}
            )
        checked = []
        for upload in files:
            try:
                checked.append(check_upload(upload))
            except DjangoValidationError as exc:
                raise serializers.ValidationError(
                    [f"{getattr(upload, 'name', '')}: {m}" for m in exc.messages]
                ) from exc
        return checked


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
        parameters=[OpenApiParameter("patient", str, required=True)],
        responses={200: OpdSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        member = family_member_for(signed_in_user(request), request.query_params.get("patient", ""))
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
        responses={201: TicketSerializer},
        description=(
            "409 codes: opd_closed (with next_opening), opd_full, waiting_room_full, "
            "already_booked (with token and ticket), opd_other_state. Files: PDF, JPEG or PNG, "
            "checked by content."
        ),
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

    @extend_schema(summary="A token's live state (position, estimated wait, CALL NOW)")
    def get(self, request: Request, ticket_id: str) -> Response:
        ticket = selectors.ticket_for_account(signed_in_user(request), ticket_id)
        if ticket.is_active:
            visits.hold_presence(ticket, PresenceLease.POLL)
        return Response(selectors.snapshot(ticket))


class TicketAnswer(APIView):
    permission_classes = [IsPatientAccount]

    @extend_schema(summary="CALL NOW: join the doctor", request=None)
    def post(self, request: Request, ticket_id: str) -> Response:
        account = signed_in_user(request)
        ticket = selectors.ticket_for_account(account, ticket_id)
        visits.answer_call(account, ticket)
        return Response(selectors.snapshot(selectors.ticket_for_account(account, ticket_id)))


class TicketCancel(APIView):
    permission_classes = [IsPatientAccount]

    @extend_schema(summary="Cancel a token", request=None)
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
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


ConsoleSummary = inline_serializer(
    "ConsoleSummary",
    {
        "paused": serializers.BooleanField(),
        "opds": serializers.ListField(child=serializers.DictField()),
        "next": serializers.ListField(child=serializers.DictField()),
        "current": serializers.DictField(allow_null=True),
    },
)


class ConsoleView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="The doctor's console: duty, counts, next patients, current patient",
        responses={200: ConsoleSummary},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.console_summary(_doctor(request)))


class ConsoleDuty(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Go on duty for these OPDs (an empty list goes off duty)",
        request=DutySerializer,
        responses={200: ConsoleSummary},
    )
    def post(self, request: Request) -> Response:
        doctor = _doctor(request)
        serializer = DutySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["opds"]
        if ids:
            pks = list(Opd.objects.filter(public_id__in=ids).values_list("pk", flat=True))
            duty.go_on_duty(doctor, pks if len(pks) == len(ids) else [*pks, -1])
        else:
            duty.go_off_duty(doctor)
        return Response(selectors.console_summary(doctor))


class ConsoleHeartbeat(APIView):
    permission_classes = [IsStaff]

    @extend_schema(summary="Keep duty alive without a socket", request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        duty.heartbeat(_doctor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConsoleResume(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Take patients again after a paused offer",
        request=None,
        responses={200: ConsoleSummary},
    )
    def post(self, request: Request) -> Response:
        doctor = _doctor(request)
        duty.resume(doctor)
        return Response(selectors.console_summary(doctor))


class ConsoleTicketAction(APIView):
    permission_classes = [IsStaff]
    action = ""

    @extend_schema(
        summary="Accept, skip or end: the doctor's patient",
        request=SkipSerializer,
        responses={200: ConsoleSummary},
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        doctor = _doctor(request)
        ticket = selectors.ticket_for_doctor(doctor, ticket_id)
        if self.action == "accept":
            visits.accept_offer(doctor, ticket)
        elif self.action == "skip":
            serializer = SkipSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            visits.skip_offer(doctor, ticket, **serializer.validated_data)
        else:
            visits.end_consultation(doctor, ticket)
        return Response(selectors.console_summary(doctor))
