from __future__ import annotations

from django.contrib import admin

from core.models import District, Language, State


@admin.register(State)
class StateAdmin(admin.ModelAdmin[State]):
    list_display = ["name", "code", "lgd_code", "iso_code", "kind"]
    search_fields = ["name", "code"]
    list_filter = ["kind"]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin[District]):
    list_display = ["name", "state", "lgd_code"]
    search_fields = ["name"]
    list_filter = ["state"]


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin[Language]):
    list_display = ["name", "native_name", "code"]
