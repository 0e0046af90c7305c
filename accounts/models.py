"""Who may sign in, in which role, and the one-time codes patients sign in with."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import PublicIdModel, State


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    DOCTOR = "doctor", _("Doctor")
    STATE_ADMIN = "state_admin", _("State administrator")
    NATIONAL_ADMIN = "national_admin", _("National administrator")


STAFF_ROLES = (Role.DOCTOR, Role.STATE_ADMIN, Role.NATIONAL_ADMIN)

staff_username_validator = RegexValidator(
    r"^[a-z][a-z0-9_.-]{2,49}$",
    _(
        "Use 3 to 50 lower-case letters, digits, dots, dashes or underscores, "
        "starting with a letter."
    ),
)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_patient_account(self, mobile: str) -> User:
        """An account for a verified mobile number; it signs in by one-time code only."""
        user = self.model(username=mobile, mobile=mobile, role=Role.PATIENT)
        user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_staff(
        self, username: str, password: str | None, *, role: str, **fields: Any
    ) -> User:
        if role not in STAFF_ROLES:
            raise ValueError(f"{role!r} is not a staff role")
        staff_username_validator(username)
        user = self.model(username=username, role=role, **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> User:
        role = fields.pop("role", Role.NATIONAL_ADMIN)
        return self.create_staff(username, password, role=role, **fields)

    def create_superuser(self, username: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_staff(username, password, role=Role.NATIONAL_ADMIN, **fields)


class User(PublicIdModel, AbstractBaseUser, PermissionsMixin):
    """An account. A patient account is a mobile number holding a family of patients;
    staff (doctors and administrators) sign in with a username, password and optional TOTP."""

    username = models.CharField(_("username"), max_length=50, unique=True)
    mobile = models.CharField(
        _("mobile number"),
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        help_text=_("E.164, e.g. +919876543210. Patients sign in with it."),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    full_name = models.CharField(_("full name"), max_length=120, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    state = models.ForeignKey(
        State,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("state"),
        help_text=_("The state a state administrator administers."),
    )
    preferred_language = models.CharField(_("preferred language"), max_length=8, default="en")
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("admin site access"),
        default=False,
        help_text=_("May sign in to the administration site."),
    )
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role=Role.PATIENT) | Q(mobile__isnull=False),
                name="patient_account_has_mobile",
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.STATE_ADMIN) | Q(state__isnull=False),
                name="state_admin_has_state",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_doctor(self) -> bool:
        return self.role == Role.DOCTOR

    @property
    def is_state_admin(self) -> bool:
        return self.role == Role.STATE_ADMIN

    @property
    def is_national_admin(self) -> bool:
        return self.role == Role.NATIONAL_ADMIN

    @property
    def is_administrator(self) -> bool:
        return self.role in (Role.STATE_ADMIN, Role.NATIONAL_ADMIN)

    @property
    def masked_mobile(self) -> str:
        """The last four digits only: enough to recognise, too little to leak."""
        return f"••••••{self.mobile[-4:]}" if self.mobile else ""


class OtpChallenge(PublicIdModel):
    """A one-time code sent to a mobile number. Only a keyed hash of the code is stored."""

    mobile = models.CharField(max_length=16, db_index=True)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    client_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="Keyed hash of the client address, for throttling without storing it.",
    )

    class Meta:
        indexes = [models.Index(fields=["mobile", "created_at"])]

    def __str__(self) -> str:
        return f"OTP challenge {self.public_id}"
