"""The family member form: Django renders it, ``FamilyMemberSerializer`` validates it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.models import District, Language, State
from patients.api import FamilyMemberSerializer
from patients.identifiers import ABHA_NUMBER_INPUT_MAX_LENGTH
from patients.models import Patient, Relationship, Sex
from patients.services import likely_language
from patients.validators import NAME_MAX_LENGTH


def _district_choices() -> list[tuple[str, Any]]:
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for district in District.objects.select_related("state").order_by("state__name", "name"):
        grouped[district.state.display_name].append((str(district.lgd_code), district.display_name))
    return [("", _("Choose the district")), *grouped.items()]


class FamilyMemberForm(forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=NAME_MAX_LENGTH)
    relationship = forms.ChoiceField(
        label=_("Relationship to you"),
        choices=[c for c in Relationship.choices if c[0] != Relationship.SELF],
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, widget=forms.RadioSelect)
    date_of_birth = forms.CharField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    age_years = forms.CharField(
        label=_("Or age in years"),
        required=False,
        help_text=_("Only if the date of birth is not known."),
        widget=forms.NumberInput(attrs={"min": "0", "max": "120", "inputmode": "numeric"}),
    )
    state = forms.ChoiceField(label=_("State or Union Territory"))
    district = forms.ChoiceField(label=_("District"), required=False)
    preferred_language = forms.ChoiceField(label=_("Language for consultations"))
    abha_number = forms.CharField(
        label=_("ABHA number (optional)"),
        required=False,
        max_length=ABHA_NUMBER_INPUT_MAX_LENGTH,
        help_text=_("14 digits, e.g. 91-1234-5678-9012"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    abha_address = forms.CharField(
        label=_("ABHA address (optional)"),
        required=False,
        max_length=Patient._meta.get_field("abha_address").max_length,
        help_text=_("e.g. sunita.devi@abdm"),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off"}),
    )

    def __init__(
        self, *args: Any, instance: Patient | None = None, holder: bool = False, **kwargs: Any
    ) -> None:
        self.instance = instance
        self.holder = holder or bool(instance and instance.is_account_holder)
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = _initial(instance)
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["state"]).choices = [
            ("", _("Choose the state")),
            *[(s.code, s.display_name) for s in State.objects.order_by("name")],
        ]
        cast(forms.ChoiceField, self.fields["district"]).choices = _district_choices()
        cast(forms.ChoiceField, self.fields["preferred_language"]).choices = [
            (lang.code, f"{lang.native_name} ({lang.name})")
            for lang in Language.objects.order_by("name")
        ]
        if self.holder:
            del self.fields["relationship"]
        # A new member's language: the likely one, following the chosen state (language-default.js)
        # until the person picks one. A profile on record keeps its own.
        self.state_languages: dict[str, str] = {}
        if instance is None and not self.is_bound:
            ui_language = get_language()
            self.state_languages = {
                state.code: likely_language(state_code=state.code, ui_language=ui_language)
                for state in State.objects.all()
            }
            self.initial.setdefault(
                "preferred_language",
                likely_language(state_code=self.initial.get("state"), ui_language=ui_language),
            )
        self.validated_data: dict[str, Any] = {}
        self.warnings: list[dict[str, str]] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        data = {name: value for name, value in cleaned.items() if value not in (None, "")}
        if self.holder:
            data["relationship"] = Relationship.SELF
        data.setdefault("district", None)
        data.setdefault("abha_number", "")
        data.setdefault("abha_address", "")
        if (
            self.instance is not None
            and not data.get("date_of_birth")
            and not data.get("age_years")
        ):
            self.add_error(
                "date_of_birth", _("Enter the date of birth, or the age if it is not known.")
            )
            return cleaned
        serializer = FamilyMemberSerializer(instance=self.instance, data=data)
        if serializer.is_valid():
            self.validated_data = dict(serializer.validated_data)
        else:
            for name, messages in serializer.errors.items():
                target = name if name in self.fields else None
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(target, str(message))
        return cleaned


def _initial(member: Patient) -> dict[str, Any]:
    return {
        "name": member.name,
        "relationship": member.relationship,
        "sex": member.sex,
        "date_of_birth": "" if member.dob_is_estimated else member.date_of_birth.isoformat(),
        "age_years": member.age_years if member.dob_is_estimated else "",
        "state": member.state.code,
        "district": str(member.district.lgd_code) if member.district else "",
        "preferred_language": member.preferred_language.code,
        "abha_number": member.display_abha_number,
        "abha_address": member.abha_address or "",
    }
