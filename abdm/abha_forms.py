"""Forms of the ABHA pages (abdm/abha_views.py). Identifiers are checked by the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from abdm.abha import LoginMethod
from accounts.inputs import MOBILE_INPUT_MAX_LENGTH

OTP_WIDGET = forms.TextInput(
    attrs={
        "inputmode": "numeric",
        "autocomplete": "one-time-code",
        "pattern": "[0-9]{6}",
        "maxlength": "6",
    }
)


def otp_field() -> forms.RegexField:
    return forms.RegexField(
        label=_("6-digit code"),
        regex=r"^\s*\d{6}\s*$",
        max_length=10,
        error_messages={"invalid": _("Enter the 6 digits of the code.")},
        widget=OTP_WIDGET,
    )


class LinkStartForm(forms.Form):
    method = forms.ChoiceField(
        label=_("How do you want to find the ABHA?"),
        choices=[
            (LoginMethod.ABHA_NUMBER.value, _("ABHA number (14 digits)")),
            (LoginMethod.ABHA_ADDRESS.value, _("ABHA address (e.g. name@abdm)")),
            (LoginMethod.MOBILE.value, _("Mobile number registered with the ABHA")),
        ],
        initial=LoginMethod.ABHA_NUMBER.value,
        widget=forms.RadioSelect,
    )
    identifier = forms.CharField(
        label=_("ABHA number, ABHA address or mobile number"),
        max_length=64,
        help_text=_("ABDM sends a code by SMS to the mobile number registered with the ABHA."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )


class OtpForm(forms.Form):
    otp = otp_field()


class ChooseAccountForm(forms.Form):
    abha_number = forms.ChoiceField(
        label=_("Which ABHA is this family member's?"), widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, accounts: list[dict[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["abha_number"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (a["abha_number"], f"{a['name']} · {a['abha_address'] or a['abha_number']}")
            for a in accounts
        ]


class EnrolStartForm(forms.Form):
    aadhaar = forms.CharField(
        label=_("Aadhaar number"),
        max_length=14,
        help_text=_(
            "UIDAI sends a code to the mobile number registered with this Aadhaar. We do not keep "
            "the Aadhaar number."
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    consent = forms.BooleanField(
        label=_(
            "I agree that ABDM uses this Aadhaar number and its details to create an ABHA for this "
            "family member."
        ),
    )


class EnrolOtpForm(forms.Form):
    otp = otp_field()
    mobile = forms.CharField(
        label=_("Mobile number for the ABHA"),
        max_length=MOBILE_INPUT_MAX_LENGTH,
        help_text=_("ABDM sends messages about this ABHA to this number."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel-national"}),
    )
