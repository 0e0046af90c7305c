"""Checking what patients upload: size, and the file's real type from its first bytes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from queues.models import Attachment

_SIGNATURES = (
    (b"%PDF-", Attachment.Kind.PDF),
    (b"\xff\xd8\xff", Attachment.Kind.JPEG),
    (b"\x89PNG\r\n\x1a\n", Attachment.Kind.PNG),
)
_EXTENSIONS = {
    Attachment.Kind.PDF: {".pdf"},
    Attachment.Kind.JPEG: {".jpg", ".jpeg"},
    Attachment.Kind.PNG: {".png"},
}


@dataclass(frozen=True)
class CheckedUpload:
    upload: UploadedFile[bytes]
    content_type: str
    sha256: str
    name: str


def safe_name(raw: str | None) -> str:
    name = PurePath(raw or "document").name
    stem, dot, ext = name.rpartition(".")
    cleaned = re.sub(r"[^\w.-]+", "_", stem if dot else name)[:80] or "document"
    return f"{cleaned}.{ext.lower()[:5]}" if dot else cleaned


def check_upload(upload: UploadedFile[bytes]) -> CheckedUpload:
    """Accept a PDF, JPEG or PNG within the size limit, judged by content, not by its name."""
    limit = settings.ATTACHMENT_MAX_BYTES
    if not upload.size or upload.size > limit:
        raise ValidationError(
            _("Each file can be at most %(mb)d MB.") % {"mb": limit // (1024 * 1024)},
            code="file_too_large" if upload.size else "file_empty",
        )
    upload.seek(0)
    head = upload.read(16)
    kind = next((k for signature, k in _SIGNATURES if head.startswith(signature)), None)
    name = safe_name(upload.name)
    extension = PurePath(name).suffix.lower()
    if kind is None or extension not in _EXTENSIONS[kind]:
        raise ValidationError(_("Only PDF, JPEG or PNG files can be attached."), code="file_type")
    if kind in (Attachment.Kind.JPEG, Attachment.Kind.PNG):
        upload.seek(0)
        try:
            with Image.open(upload) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise ValidationError(_("This image file is damaged."), code="file_damaged") from exc
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(upload, str(kind), digest.hexdigest(), name)
