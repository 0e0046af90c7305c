"""The dashboards over the API: trends for a date range, every state side by side, live now.

Administrators only, scoped by ``selectors.scope_for`` exactly like the pages: a state
administrator their own state (another state: 403), the national administrator the country or
any state. Figures are exact: whoever passes them on outside the service suppresses small
counts, as the CSV exports do.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdministrator, signed_in_user
from core.api.schema import refusal
from dashboards import queries, rollups
from dashboards.forms import DateRange, check_range
from dashboards.live import live_now, live_payload
from dashboards.selectors import Scope, scope_for

# --- Query parameters -----------------------------------------------------------------------


class StateQuerySerializer(serializers.Serializer[Any]):
    state = serializers.RegexField(
        # Blank is allowed (and the default): the schema's pattern must accept its own default.
        r"^(?:[A-Za-z]{2})?$",
        required=False,
        allow_blank=True,
        default="",
        help_text="A state or UT code (e.g. UP); leave out for your own state, or the country.",
        error_messages={"invalid": _("Give a state or UT code of two letters, e.g. UP.")},
    )

    def validate_state(self, value: str) -> str | None:
        return value.upper() or None


class RangeQuerySerializer(serializers.Serializer[Any]):
    start = serializers.DateField(
        required=False, help_text="First day (IST), YYYY-MM-DD; default 30 days ago."
    )
    end = serializers.DateField(
        required=False, help_text="Last day (IST), included; default today. At most 366 days."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        period, problems = check_range(attrs.get("start"), attrs.get("end"))
        if problems:
            raise serializers.ValidationError(problems)
        return {**attrs, "period": period}


class StateRangeQuerySerializer(StateQuerySerializer, RangeQuerySerializer):
    pass


def _query(request: Request, serializer_class: type[serializers.Serializer[Any]]) -> Any:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _scope(request: Request, state: str | None) -> Scope:
    return scope_for(signed_in_user(request), state)


# --- Responses ------------------------------------------------------------------------------


class DayPointSerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    booked = serializers.IntegerField()
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    no_show = serializers.IntegerField()
    prescriptions = serializers.IntegerField()


class CountSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Stable: a public id or a code ('F:30-44' by sex, age)")
    name = serializers.CharField(source="label")
    booked = serializers.IntegerField()
    completed = serializers.IntegerField()


class DoctorUseSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="doctor_key", help_text="The doctor's public id")
    name = serializers.CharField()
    consultations = serializers.IntegerField()
    consult_seconds = serializers.IntegerField()
    on_duty_seconds = serializers.IntegerField()
    utilisation = serializers.FloatField(allow_null=True, help_text="0 to 1")


class TrendsSerializer(serializers.Serializer[Any]):
    state = serializers.SerializerMethodField(help_text="The state's code; null for India")
    start = serializers.DateField()
    end = serializers.DateField(help_text="Included")
    per_day = DayPointSerializer(many=True)
    by_opd = CountSerializer(many=True)
    by_speciality = CountSerializer(many=True)
    by_district = CountSerializer(many=True)
    by_sex_age = CountSerializer(many=True)
    wait_median_seconds = serializers.FloatField(allow_null=True)
    wait_p90_seconds = serializers.FloatField(allow_null=True)
    consult_median_seconds = serializers.FloatField(allow_null=True)
    no_show_rate = serializers.FloatField(allow_null=True)
    cancellation_rate = serializers.FloatField(allow_null=True)
    busiest_hours = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Bookings by weekday (0 = Monday) and hour (0-23, IST)",
    )
    doctors = DoctorUseSerializer(many=True)
    prescriptions = serializers.IntegerField()
    notifications_sent = serializers.IntegerField()
    notifications_failed = serializers.IntegerField()
    totals = serializers.DictField(child=serializers.IntegerField())

    def get_state(self, trends: queries.Trends) -> str | None:
        scope: Scope = self.context["scope"]
        return scope.state.code if scope.state else None


class StateRowSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    booked = serializers.IntegerField()
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    no_show = serializers.IntegerField()
    prescriptions = serializers.IntegerField()
    wait_median_seconds = serializers.FloatField(allow_null=True)


StatesOverview = inline_serializer(
    "StatesOverview",
    {
        "start": serializers.DateField(),
        "end": serializers.DateField(),
        "states": StateRowSerializer(many=True),
        "totals": serializers.DictField(child=serializers.IntegerField()),
    },
)


class OpdLiveSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The OPD's public id")
    name = serializers.CharField()
    waiting = serializers.IntegerField()
    doctors_on_duty = serializers.IntegerField()
    in_consultation = serializers.IntegerField()
    longest_wait_seconds = serializers.IntegerField(allow_null=True)


class LiveSerializer(serializers.Serializer[Any]):
    """Also the ``live`` frame of the socket /ws/dashboard/live/."""

    type = serializers.CharField(help_text="Always 'live'")
    at = serializers.DateTimeField(help_text="When the figures were read (IST)")
    waiting = serializers.IntegerField()
    doctors_on_duty = serializers.IntegerField()
    in_consultation = serializers.IntegerField()
    longest_wait_seconds = serializers.IntegerField(allow_null=True)
    opds = OpdLiveSerializer(many=True)


REFUSALS = {
    400: refusal("Bad dates or state code (`invalid`)."),
    401: refusal("Not signed in."),
    403: refusal("Not an administrator, or another state."),
    404: refusal("No such state or UT."),
}


# --- Views ----------------------------------------------------------------------------------


class TrendsView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        summary="A state's (or India's) figures for a range of days",
        parameters=[StateRangeQuerySerializer],
        responses={200: TrendsSerializer, **REFUSALS},
    )
    def get(self, request: Request) -> Response:
        query = _query(request, StateRangeQuerySerializer)
        scope = _scope(request, query["state"])
        period: DateRange = query["period"]
        rollups.ensure_fresh()
        trends = queries.trends(scope, period.start, period.end)
        return Response(TrendsSerializer(trends, context={"scope": scope}).data)


class StatesView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        summary="Every state and UT side by side, with totals (national administrator)",
        parameters=[RangeQuerySerializer],
        responses={
            200: StatesOverview,
            400: REFUSALS[400],
            401: REFUSALS[401],
            403: refusal("Not the national administrator."),
        },
    )
    def get(self, request: Request) -> Response:
        query = _query(request, RangeQuerySerializer)
        if not _scope(request, None).is_national:
            raise PermissionDenied(_("Only the national administrator sees every state."))
        period: DateRange = query["period"]
        rollups.ensure_fresh()
        rows = queries.states_overview(period.start, period.end)
        names = ("booked", "completed", "cancelled", "no_show", "prescriptions")
        return Response(
            {
                "start": period.start,
                "end": period.end,
                "states": StateRowSerializer(rows, many=True).data,
                "totals": {n: sum(int(getattr(r, n)) for r in rows) for n in names},
            }
        )


class LiveView(APIView):
    permission_classes = [IsAdministrator]

    @extend_schema(
        summary="Right now: patients waiting, doctors on duty, consultations, longest wait",
        parameters=[StateQuerySerializer],
        responses={200: LiveSerializer, **REFUSALS},
    )
    def get(self, request: Request) -> Response:
        query = _query(request, StateQuerySerializer)
        scope = _scope(request, query["state"])
        return Response(live_payload(live_now(scope)))
