"""Reading a rendered PDF as a person or a phone would: the first page as a picture, and the QR
code on it. Shared by the PDF tests and the browser test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

QR_ONLY = ("-Sdisable", "-Sqrcode.enable")


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install Debian's {package} (make system-packages)")
    return path


def first_page_png(pdf: bytes, directory: Path) -> Path:
    (directory / "rx.pdf").write_bytes(pdf)
    subprocess.run(
        [
            tool("pdftoppm", "poppler-utils"),
            *("-r", "200", "-png", "-f", "1", "-l", "1"),
            str(directory / "rx.pdf"),
            str(directory / "page"),
        ],
        check=True,
    )
    return next(directory.glob("page*.png"))


def qr_payload(pdf: bytes, directory: Path) -> str:
    """What a phone camera reads from the QR code on the first page."""
    decoded = subprocess.run(
        [
            tool("zbarimg", "zbar-tools"),
            "--raw",
            "--quiet",
            *QR_ONLY,
            str(first_page_png(pdf, directory)),
        ],
        capture_output=True,
        check=True,
    )
    return decoded.stdout.decode().strip()
