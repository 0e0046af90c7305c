"""Reference data over the API: open to everyone, it holds nothing personal."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny

from core.middleware import publicly_cacheable
from core.models import District, Language, State


class StateSerializer(serializers.ModelSerializer[State]):
    class Meta:
        model = State
        fields = ["code", "lgd_code", "iso_code", "name", "name_hi", "kind"]


class DistrictSerializer(serializers.ModelSerializer[District]):
    state = serializers.CharField(source="state.code")

    class Meta:
        model = District
        fields = ["lgd_code", "name", "name_hi", "state"]


class LanguageSerializer(serializers.ModelSerializer[Language]):
    class Meta:
        model = Language
        fields = ["code", "name", "native_name"]


# The same for everyone and rarely changed (districts by ``import_districts``): the one part of
# the API that caches may keep.
@method_decorator(publicly_cacheable(max_age=3600), name="dispatch")
class PublicListView(ListAPIView):  # type: ignore[type-arg]
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    pagination_class = None


@extend_schema(summary="The 28 states and 8 Union Territories")
class StateList(PublicListView):
    serializer_class = StateSerializer
    queryset = State.objects.all()


@extend_schema(summary="Districts of one state or UT")
class DistrictList(PublicListView):
    serializer_class = DistrictSerializer

    def get_queryset(self) -> Any:
        state = get_object_or_404(State, code=self.kwargs["state_code"].upper())
        return District.objects.filter(state=state).select_related("state")


@extend_schema(summary="Languages patients and doctors may speak")
class LanguageList(PublicListView):
    serializer_class = LanguageSerializer
    queryset = Language.objects.all()
