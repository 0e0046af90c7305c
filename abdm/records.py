"""What this HIP keeps of ABDM's M2 flows (docs/abdm.md, "Care contexts and linking" and
"Consents and health information"): care contexts and their links, the link tokens and
user-initiated link requests, consent artefacts, health-information transfers and the shares
they made. Imported by ``abdm.models``; the gateway traffic itself is ``GatewayMessage``.

Nothing here is logged: ABHA addresses, OTPs and artefacts are personal data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from consultations.models import Consultation
from patients.models import Patient

LINK_TOKEN_LIFETIME = timedelta(minutes=30)
# A token this close to its end is not reused: the link call must reach the gateway in time.
LINK_TOKEN_MARGIN = timedelta(minutes=2)
OTP_LIFETIME = timedelta(minutes=10)
OTP_MAX_ATTEMPTS = 5


# ABDM's consent purposes (ABDM.md), as a family reads them.
PURPOSES = {
    "CAREMGT": _("Care management"),
    "BTG": _("Emergency access (break the glass)"),
    "PUBHLTH": _("Public health"),
    "HPAYMT": _("Payment for care"),
    "DSRCH": _("Disease-specific research"),
    "PATRQT": _("Your own request"),
}


class HiType(models.TextChoices):
    """The health-information types this HIP serves (docs/abdm.md, "Wire shapes")."""

    OP_CONSULTATION = "OPConsultation", _("Consultation record")
    PRESCRIPTION = "Prescription", _("Prescription")


class CareContext(models.Model):
    """One consultation offered to ABDM as a care context; its reference is the consultation's
    public UUID. Linked to the patient's ABHA by this HIP (``HIP``) or by the patient through
    their PHR app (``USER``)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Being linked")
        LINKED = "linked", _("Linked")
        FAILED = "failed", _("Not linked")

    class How(models.TextChoices):
        HIP = "hip", _("Linked by eSanjeevani")
        USER = "user", _("Linked by you from your ABHA app")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_contexts")
    consultation = models.OneToOneField(
        Consultation, on_delete=models.PROTECT, related_name="care_context"
    )
    reference = models.UUIDField(unique=True)
    display = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    how = models.CharField(max_length=4, choices=How.choices, default=How.HIP)
    abha_address = models.CharField(max_length=64, blank=True)
    # HIP-initiated: the link/carecontext call in flight (its callback finds us by it).
    link_request = models.ForeignKey(
        "abdm.GatewayMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A new link token was asked for once after ABDM-1094 (expired token); not twice.
    token_renewed = models.BooleanField(default=False)
    # The gateway's error code when linking failed (shown to the family as "not linked").
    error_code = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    linked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("care context")
        verbose_name_plural = _("care contexts")
        indexes = [models.Index(fields=["patient", "state"])]

    def __str__(self) -> str:
        return str(self.reference)


class LinkToken(models.Model):
    """A generate-token request for one ABHA and, once answered, the token: valid 30 minutes
    for that (ABHA, HIP) and reused within that time."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    abha_number = models.CharField(max_length=14, blank=True)
    abha_address = models.CharField(max_length=64, blank=True)
    request = models.OneToOneField(
        "abdm.GatewayMessage", on_delete=models.CASCADE, related_name="link_token"
    )
    token = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "expires_at"])]

    def __str__(self) -> str:
        return f"link token {self.pk}"

    @classmethod
    def usable_for(
        cls, patient: Patient, *, now: datetime, abha_number: str, abha_address: str
    ) -> LinkToken | None:
        return (
            cls.objects.filter(
                patient=patient,
                abha_number=abha_number,
                abha_address=abha_address,
                expires_at__gt=now + LINK_TOKEN_MARGIN,
            )
            .exclude(token="")
            .order_by("-expires_at")
            .first()
        )


def _otp_hash(link_ref: object, code: str) -> str:
    return salted_hmac("abdm.link-otp", f"{link_ref}:{code}", algorithm="sha256").hexdigest()


class LinkRequest(models.Model):
    """User-initiated linking: a discovery (transaction id → the one member it matched), then
    the link init (care contexts, an OTP sent by SMS, stored hashed) and its confirmation."""

    class State(models.TextChoices):
        DISCOVERED = "discovered", _("Discovered")
        OTP_SENT = "otp-sent", _("Code sent")
        CONFIRMED = "confirmed", _("Confirmed")
        LOCKED = "locked", _("Expired or too many wrong codes")

    transaction_id = models.CharField(max_length=64, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    abha_address = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.DISCOVERED)
    link_ref = models.UUIDField(null=True, blank=True, unique=True)
    # The consultations asked for at init; their care contexts are written at confirmation.
    consultations = models.ManyToManyField(Consultation, blank=True, related_name="+")
    otp_hash = models.CharField(max_length=64, blank=True)
    otp_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link request {self.pk}"

    def set_otp(self, code: str, *, now: datetime) -> None:
        self.otp_hash = _otp_hash(self.link_ref, code)
        self.otp_expires_at = now + OTP_LIFETIME
        self.attempts = 0

    def otp_matches(self, code: str) -> bool:
        return bool(self.otp_hash) and constant_time_compare(
            _otp_hash(self.link_ref, code), self.otp_hash
        )

    def usable(self, now: datetime) -> bool:
        return (
            self.state == self.State.OTP_SENT
            and self.otp_expires_at is not None
            and now < self.otp_expires_at
            and self.attempts < OTP_MAX_ATTEMPTS
        )

    def count_wrong_code(self) -> None:
        # Counted in the database, so two concurrent wrong codes both count.
        LinkRequest.objects.filter(pk=self.pk).update(attempts=F("attempts") + 1)
        self.refresh_from_db(fields=["attempts"])


class Consent(models.Model):
    """A consent artefact ABDM's consent manager notified us of (idempotent per consent id).
    A revoked or expired consent never becomes granted again. Past ``data_erase_at`` the daily
    task marks it expired and drops the artefact and signature, keeping what the family's
    record of shares needs (purpose, requester, types, dates, status)."""

    class Status(models.TextChoices):
        GRANTED = "GRANTED", _("Granted")
        REVOKED = "REVOKED", _("Revoked")
        EXPIRED = "EXPIRED", _("Expired")

    consent_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents"
    )
    abha_address = models.CharField(max_length=64, blank=True)
    purpose_code = models.CharField(max_length=20, blank=True)
    purpose_text = models.CharField(max_length=200, blank=True)
    # Who asked: the HIU (or requester) named by the artefact, when it names one.
    requester = models.CharField(max_length=200, blank=True)
    hi_types = models.JSONField(default=list, blank=True)
    care_contexts = models.ManyToManyField(CareContext, blank=True, related_name="consents")
    date_from = models.DateTimeField(null=True, blank=True)
    date_to = models.DateTimeField(null=True, blank=True)
    data_erase_at = models.DateTimeField(null=True, blank=True)
    artefact = models.JSONField(null=True, blank=True)
    signature = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return self.consent_id

    @property
    def purpose_label(self) -> str:
        return str(PURPOSES.get(self.purpose_code, self.purpose_text))

    @property
    def hi_type_labels(self) -> list[str]:
        return [str(HiType(t).label) for t in self.hi_types if t in HiType.values]

    def refusal(self, now: datetime) -> str:
        """Why no data may flow under this consent now ("" when it may)."""
        if self.status != self.Status.GRANTED:
            return f"The consent is {self.status.lower()}."
        if self.data_erase_at is not None and now >= self.data_erase_at:
            return "The consent has expired."
        return ""


class HealthInformationRequest(models.Model):
    """One HI request and its transfer (transaction id unique): checked, acknowledged or
    errored, then pushed page by page to the requester's dataPushUrl. The requester's key and
    the URL are dropped once the transfer is over; the URL's host stays for the family."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ACKNOWLEDGED = "acknowledged", _("Being sent")
        TRANSFERRED = "transferred", _("Sent")
        FAILED = "failed", _("Sending failed")
        ERRORED = "errored", _("Refused")

    transaction_id = models.CharField(max_length=64, unique=True)
    consent_ref = models.CharField(max_length=64)
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    callback = models.ForeignKey(
        "abdm.GatewayMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    date_from = models.DateTimeField(null=True, blank=True)
    date_to = models.DateTimeField(null=True, blank=True)
    data_push_url = models.URLField(max_length=500, blank=True)
    push_host = models.CharField(max_length=200, blank=True)
    key_material = models.JSONField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.REQUESTED)
    error = models.CharField(max_length=200, blank=True)
    pages = models.PositiveSmallIntegerField(default=0)
    # {care context reference: "DELIVERED" | "FAILED"}
    statuses = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    transferred_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("health-information request")
        verbose_name_plural = _("health-information requests")

    def __str__(self) -> str:
        return self.transaction_id

    @staticmethod
    def host_of(url: str) -> str:
        return urlsplit(url).hostname or ""

    def move(self, frm: str, to: str, **changes: object) -> bool:
        """Compare-and-set: only one worker moves a request out of ``frm``."""
        moved = HealthInformationRequest.objects.filter(pk=self.pk, state=frm).update(
            state=to, **changes
        )
        if moved:
            self.state = to
            for name, value in changes.items():
                setattr(self, name, value)
        return moved == 1


class Share(models.Model):
    """One document delivered to a requester under a consent: the family's record of what was
    shared with whom and when."""

    request = models.ForeignKey(
        HealthInformationRequest, on_delete=models.PROTECT, related_name="shares"
    )
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="shares")
    care_context = models.ForeignKey(CareContext, on_delete=models.PROTECT, related_name="shares")
    hi_type = models.CharField(max_length=20, choices=HiType.choices)
    recipient = models.CharField(max_length=200, blank=True)
    shared_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-shared_at"]
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "care_context", "hi_type"], name="abdm_share_once_per_request"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hi_type} {self.care_context_id}"


def expire_consents(now: datetime) -> int:
    """Consents past their data-erase time: expired, artefact and signature dropped."""
    return Consent.objects.filter(
        Q(artefact__isnull=False) | Q(status=Consent.Status.GRANTED), data_erase_at__lte=now
    ).update(
        status=models.Case(
            models.When(status=Consent.Status.GRANTED, then=models.Value("EXPIRED")),
            default=F("status"),
        ),
        expired_at=models.Case(
            models.When(status=Consent.Status.GRANTED, then=models.Value(now)),
            default=F("expired_at"),
        ),
        artefact=None,
        signature="",
    )


def push_page_size() -> int:
    return max(1, int(settings.ABDM_PUSH_PAGE_SIZE))
