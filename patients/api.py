"""Family members over the API. The serializer is the one validator pages use too."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsPatientAccount, signed_in_user
from core.api.schema import refusal
from core.clock import india_today
from core.models import District, Language, State
from patients import identifiers, services, validators
from patients.models import Patient, Relationship, Sex
from patients.selectors import family_for, family_member_for


class WarningSerializer(serializers.Serializer[dict[str, str]]):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class FamilyMemberSerializer(serializers.Serializer[Patient]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient_id = serializers.CharField(source="display_patient_number", read_only=True)
    relationship = serializers.ChoiceField(choices=Relationship.choices)
    name = serializers.CharField(max_length=validators.NAME_INPUT_MAX_LENGTH)
    sex = serializers.ChoiceField(choices=Sex.choices)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    age_years = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=validators.MAX_AGE_YEARS,
        help_text=_("Give this instead of the date of birth when the date is not known."),
    )
    dob_is_estimated = serializers.BooleanField(read_only=True)
    state = serializers.SlugRelatedField(slug_field="code", queryset=State.objects.all())
    district = serializers.SlugRelatedField(
        slug_field="lgd_code", queryset=District.objects.all(), required=False, allow_null=True
    )
    preferred_language = serializers.SlugRelatedField(
        slug_field="code", queryset=Language.objects.all()
    )
    abha_number = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=identifiers.ABHA_NUMBER_INPUT_MAX_LENGTH,
    )
    abha_address = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=Patient._meta.get_field("abha_address").max_length,
    )
    warnings = serializers.SerializerMethodField()

    def validate_name(self, value: str) -> str:
        return str(_validated(validators.clean_person_name, value))

    def validate_abha_number(self, value: str | None) -> str:
        return str(_validated(identifiers.normalise_abha_number, value)) if value else ""

    def validate_abha_address(self, value: str | None) -> str:
        return str(_validated(identifiers.normalise_abha_address, value)) if value else ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = india_today()
        born = attrs.pop("date_of_birth", None)
        age = attrs.pop("age_years", None)
        if born is not None and age is not None:
            raise serializers.ValidationError(
                {"age_years": [_("Give either the date of birth or the age, not both.")]}
            )
        if born is not None:
            _validated(validators.check_date_of_birth, born, today, field="date_of_birth")
            attrs.update(date_of_birth=born, dob_is_estimated=False)
        elif age is not None:
            attrs.update(
                date_of_birth=validators.estimated_birth_date(age, today), dob_is_estimated=True
            )
        elif self.instance is None:
            raise serializers.ValidationError(
                {"date_of_birth": [_("Enter the date of birth, or the age if it is not known.")]}
            )
        self._validate_place(attrs)
        return attrs

    def _validate_place(self, attrs: dict[str, Any]) -> None:
        instance = self.instance
        state: State | None = attrs.get("state") or (instance.state if instance else None)
        if "district" in attrs or "state" in attrs:
            district: District | None = attrs.get("district")
            if district is not None and state is not None and district.state_id != state.pk:
                raise serializers.ValidationError(
                    {"district": [_("This district is not in the chosen state.")]}
                )
            if district is None and state is not None and state.districts.exists():
                raise serializers.ValidationError({"district": [_("Choose the district.")]})

    @extend_schema_field(WarningSerializer(many=True))
    def get_warnings(self, member: Patient) -> list[dict[str, str]]:
        if member.abha_number and not identifiers.abha_number_passes_checksum(member.abha_number):
            return [
                {
                    "field": "abha_number",
                    "code": "abha_checksum",
                    "message": str(identifiers.ABHA_CHECKSUM_WARNING),
                }
            ]
        return []

    def to_representation(self, instance: Patient) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["age_years"] = instance.age_years
        data["date_of_birth"] = instance.date_of_birth.isoformat()
        data["abha_number"] = instance.display_abha_number or None
        return data


def _validated(check: Any, *args: Any, field: str | None = None) -> Any:
    """Run a Django validator and report its messages as DRF errors."""
    try:
        return check(*args)
    except DjangoValidationError as exc:
        messages = list(exc.messages)
        raise serializers.ValidationError({field: messages} if field else messages) from exc


@extend_schema_view(
    list=extend_schema(summary="The signed-in account's family members (all of them, unpaged)"),
    create=extend_schema(
        summary="Add a family member",
        responses={
            201: FamilyMemberSerializer,
            409: refusal("`family_full`, `account_holder_exists` or `abha_taken`."),
        },
    ),
    retrieve=extend_schema(summary="One family member"),
    partial_update=extend_schema(
        summary="Change a family member's profile",
        responses={
            200: FamilyMemberSerializer,
            409: refusal("`relationship_locked` or `abha_taken`."),
        },
    ),
    destroy=extend_schema(
        summary="Remove a family member (their records are kept)",
        responses={
            204: None,
            409: refusal("The account holder cannot be removed (`account_holder_locked`)."),
        },
    ),
)
class FamilyMemberViewSet(viewsets.GenericViewSet[Patient]):
    serializer_class = FamilyMemberSerializer
    # A family has at most FAMILY_MAX_MEMBERS members: the list is one page, a plain array.
    pagination_class = None
    permission_classes = [IsPatientAccount]
    lookup_field = "public_id"
    lookup_url_kwarg = "member_id"
    lookup_value_regex = "[0-9a-f-]{36}"
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self) -> Any:
        return family_for(signed_in_user(self.request))

    def get_object(self) -> Patient:
        return family_member_for(signed_in_user(self.request), self.kwargs["member_id"])

    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    def retrieve(self, request: Request, member_id: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.add_family_member(
            account=signed_in_user(request), data=serializer.validated_data
        )
        return Response(self.get_serializer(member).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, member_id: str) -> Response:
        member = self.get_object()
        serializer = self.get_serializer(member, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        member = services.update_family_member(member=member, data=serializer.validated_data)
        return Response(self.get_serializer(member).data)

    def destroy(self, request: Request, member_id: str) -> Response:
        services.remove_family_member(member=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
