"""Sign-in over the API: patients by mobile and one-time code, staff by password (+ TOTP).

Successful sign-ins return a bearer token (``Authorization: Token <token>``) for API clients;
the browser's pages use the session instead.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import devices, otp, services
from accounts.holders import holder_name
from accounts.inputs import (
    CODE_INPUT_MAX_LENGTH,
    MOBILE_INPUT_MAX_LENGTH,
    PASSWORD_INPUT_MAX_LENGTH,
    SMS_CODE_PATTERN,
    USERNAME_MAX_LENGTH,
)
from accounts.mobile import normalise_indian_mobile
from accounts.models import User
from accounts.permissions import signed_in_user
from core.api.schema import refusal
from core.http import client_address

DEVICE_HELP = (
    "The `device` token from an earlier successful sign-in on this device, if any: the sign-in "
    "limits treat a known device as its account holder (README: lock-out policy, one-time codes)."
)


def _device_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=4096, required=False, allow_blank=True, write_only=True, help_text=DEVICE_HELP
    )


class MobileSerializer(serializers.Serializer[Any]):
    mobile = serializers.CharField(
        max_length=MOBILE_INPUT_MAX_LENGTH, help_text="Indian mobile number"
    )
    device = _device_field()

    def validate_mobile(self, value: str) -> str:
        try:
            return normalise_indian_mobile(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class OtpVerifySerializer(serializers.Serializer[Any]):
    challenge_id = serializers.UUIDField()
    code = serializers.RegexField(SMS_CODE_PATTERN, max_length=CODE_INPUT_MAX_LENGTH)
    device = _device_field()


class StaffLoginSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(max_length=PASSWORD_INPUT_MAX_LENGTH, trim_whitespace=False)
    otp = serializers.CharField(max_length=CODE_INPUT_MAX_LENGTH, required=False, allow_blank=True)
    device = _device_field()


class MeSerializer(serializers.Serializer[User]):
    id = serializers.UUIDField(source="public_id")
    role = serializers.CharField()
    username = serializers.SerializerMethodField()
    full_name = serializers.SerializerMethodField()
    state = serializers.CharField(
        source="state.code",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="A state administrator's state (code); null for every other account",
    )
    preferred_language = serializers.CharField()
    profile_complete = serializers.SerializerMethodField()
    second_factor = serializers.SerializerMethodField()

    def get_username(self, user: User) -> str:
        return user.mobile if user.is_patient and user.mobile else user.username

    def get_full_name(self, user: User) -> str:
        if user.is_patient:
            return holder_name(user) or ""
        return user.full_name

    def get_profile_complete(self, user: User) -> bool:
        return holder_name(user) is not None if user.is_patient else True

    def get_second_factor(self, user: User) -> bool:
        return services.confirmed_totp_device(user) is not None


TokenResponse = inline_serializer(
    "TokenResponse",
    {
        "token": serializers.CharField(),
        "expiry": serializers.DateTimeField(),
        "new_account": serializers.BooleanField(required=False),
        "device": serializers.CharField(
            help_text="Keep it and send it as `device` at the next sign-in from this device."
        ),
        "user": MeSerializer(),
    },
)


def _token_response(request: Request, user: User, *, device: str, **extra: Any) -> Response:
    instance, token = AuthToken.objects.create(user)
    services.record_sign_in(request._request, user)
    return Response(
        {
            "token": token,
            "expiry": instance.expiry,
            **extra,
            "device": device,
            "user": MeSerializer(user).data,
        }
    )


class OtpRequestView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Send a one-time sign-in code by SMS",
        request=MobileSerializer,
        responses={
            202: inline_serializer(
                "OtpChallenge",
                {
                    "challenge_id": serializers.UUIDField(),
                    "expires_in": serializers.IntegerField(),
                    "resend_after": serializers.IntegerField(),
                },
            ),
            429: refusal(
                "Within the resend cool-down (`otp_cooldown`), or over the cap per number or "
                "per client per hour (`throttled`)."
            ),
        },
        description=(
            "The answer is the same whether or not the number has an account. Limits (429): a "
            "resend cool-down and a cap per hour for this number from this device (or client "
            "address), a cap per client address per hour, and a growing wait between codes once "
            "a number got many within the hour, which its known devices (`device`) skip."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = MobileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        challenge = otp.request_code(
            mobile=data["mobile"],
            client_address=client_address(request),
            device_token=devices.token_from(request._request, devices.PATIENT, data.get("device")),
        )
        return Response(
            {
                "challenge_id": challenge.public_id,
                "expires_in": settings.OTP_TTL_SECONDS,
                "resend_after": settings.OTP_RESEND_COOLDOWN_SECONDS,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class OtpVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Sign in (or sign up) with the code from the SMS",
        request=OtpVerifySerializer,
        responses={
            200: TokenResponse,
            400: refusal(
                "`otp_invalid` (with `attempts_left`), `otp_expired`, `otp_used`, "
                "`otp_attempts_exceeded`, `account_disabled`, or `invalid` input."
            ),
            429: refusal("Too many attempts from this client (`throttled`)."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = OtpVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sign_in = otp.verify_code(
            challenge_id=serializer.validated_data["challenge_id"],
            code=serializer.validated_data["code"],
            client_address=client_address(request),
        )
        sent = serializer.validated_data.get("device")
        device = otp.remember_device(
            sign_in.mobile, devices.token_from(request._request, devices.PATIENT, sent)
        )
        return _token_response(
            request, sign_in.user, device=device, new_account=sign_in.new_account
        )


class StaffLoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Staff sign-in: username, password and, if enrolled, an authenticator code",
        request=StaffLoginSerializer,
        responses={
            200: TokenResponse,
            400: refusal(
                "`invalid_credentials`, `otp_required` (this account needs its authenticator "
                "code), `otp_invalid`, or `invalid` input."
            ),
            429: refusal(
                "`locked_out` (this address, or this username from this address, failed too "
                "often) or `signin_delayed` (the username backs off after failures from anywhere)."
            ),
        },
        description=(
            "Lock-out policy (README): 429 `locked_out` when this client address, or this "
            "username from this address, failed too often; 429 `signin_delayed` while the "
            "username backs off after failures from anywhere (`retry_after` seconds). A known "
            "device (`device` from an earlier complete sign-in) is exempt from all three."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = StaffLoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        device_token = devices.token_from(request._request, devices.STAFF, data.get("device"))
        user = services.check_staff_password(
            request._request,
            username=data["username"],
            password=data["password"],
            device_token=device_token,
        )
        services.check_second_factor(
            request._request, user=user, token=data.get("otp"), device_token=device_token
        )
        device = services.remember_staff_device(user, device_token)
        return _token_response(request, user, device=device)


class LogoutView(KnoxLogoutView):  # type: ignore[misc]
    @extend_schema(
        summary="Revoke the token used for this request", request=None, responses={204: None}
    )
    def post(self, request: Request, format: Any = None) -> Response:  # noqa: A002
        super().post(request, format)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(summary="Who am I", responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(signed_in_user(request)).data)
