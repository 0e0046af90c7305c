from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.inputs import (
    CODE_INPUT_MAX_LENGTH,
    MOBILE_INPUT_MAX_LENGTH,
    PASSWORD_INPUT_MAX_LENGTH,
    SMS_CODE_PATTERN,
    USERNAME_MAX_LENGTH,
)
from accounts.mobile import normalise_indian_mobile


class MobileForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=MOBILE_INPUT_MAX_LENGTH,
        help_text=_("We will send a 6-digit code to this number by SMS."),
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel-national", "placeholder": "98765 43210"}
        ),
    )

    def clean_mobile(self) -> str:
        return normalise_indian_mobile(self.cleaned_data["mobile"])


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("6-digit code"),
        regex=SMS_CODE_PATTERN,
        max_length=CODE_INPUT_MAX_LENGTH,
        error_messages={"invalid": _("Enter the 6 digits from the SMS.")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "maxlength": "6",
            }
        ),
    )

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip()


class StaffPasswordForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=USERNAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=PASSWORD_INPUT_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class AuthenticatorCodeForm(forms.Form):
    otp = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\s*\d{6,8}\s*$",
        max_length=CODE_INPUT_MAX_LENGTH,
        error_messages={"invalid": _("Enter the 6-digit code shown in your authenticator app.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "8"}
        ),
    )

    def clean_otp(self) -> str:
        return str(self.cleaned_data["otp"]).strip()


def add_service_error(form: forms.Form, error: Any, field: str | None = None) -> None:
    """Show a ``ServiceError`` on a form: its field messages, or the message at the top."""
    if error.fields:
        for name, messages in error.fields.items():
            for message in messages:
                form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(field, error.message)
