"""Reference data in the admin. Nothing here is deleted: migrations load it, everything refers
to it, and a delete page would list every patient of a state, district or language."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.models import District, Language, State


class ReferenceAdmin(admin.ModelAdmin[Any]):
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(State)
class StateAdmin(ReferenceAdmin):
    list_display = ["name", "code", "lgd_code", "iso_code", "kind"]
    search_fields = ["name", "code"]
    list_filter = ["kind"]


@admin.register(District)
class DistrictAdmin(ReferenceAdmin):
    list_display = ["name", "state", "lgd_code"]
    search_fields = ["name"]
    list_filter = ["state"]


@admin.register(Language)
class LanguageAdmin(ReferenceAdmin):
    list_display = ["name", "native_name", "code"]
