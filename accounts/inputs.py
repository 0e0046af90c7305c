"""What the sign-in doors accept, written once for the pages' forms (``accounts/forms.py``) and
the API's serializers (``accounts/api.py``). Limits on stored values come from the model."""

from __future__ import annotations

from accounts.models import User

USERNAME_MAX_LENGTH: int = User._meta.get_field("username").max_length or 50
PASSWORD_INPUT_MAX_LENGTH = 128
# A mobile number as typed (spaces, +91 or 0 before the ten digits); normalised before storing.
MOBILE_INPUT_MAX_LENGTH = 20
# A code as typed, spaces around it allowed: six digits from the SMS, up to eight from an app.
CODE_INPUT_MAX_LENGTH = 10
SMS_CODE_PATTERN = r"^\s*\d{6}\s*$"
