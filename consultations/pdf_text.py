"""Text for the prescription PDF: fonts, scripts and paragraph styles.

Devanagari is only legible when shaped (vowel signs placed, conjuncts joined): ReportLab does that
with HarfBuzz (``uharfbuzz``) for TrueType fonts registered ``shapable`` and paragraphs styled
``shaping=1``. Noto Sans Devanagari has no Latin letters, so each word is set in the font of its
script. Paragraphs with no Devanagari are not shaped: HarfBuzz would put ligature glyphs (ﬁ, ﬀ)
in English text, and the pharmacist's copy-paste and our text-extraction tests would break.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, KeepTogether, Paragraph

DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/noto"
LATIN, LATIN_BOLD, DEVANAGARI, DEVANAGARI_BOLD = (
    "EsjSans",
    "EsjSans-Bold",
    "EsjDeva",
    "EsjDeva-Bold",
)
FONT_FILES = {
    LATIN: "NotoSans-Regular.ttf",
    LATIN_BOLD: "NotoSans-Bold.ttf",
    DEVANAGARI: "NotoSansDevanagari-Regular.ttf",
    DEVANAGARI_BOLD: "NotoSansDevanagari-Bold.ttf",
}
INK = colors.HexColor("#1a1a1a")
GREEN = colors.HexColor("#0b5d4b")
RULE = colors.HexColor("#9aa8a4")
SHADE = colors.HexColor("#e8efed")

_fonts_lock = threading.Lock()
_fonts: dict[str, Any] = {}


def register_fonts() -> None:
    """Register the four Noto faces once per font directory; refuse to print Hindi unshaped."""
    directory = Path(getattr(settings, "PDF_FONT_DIR", "") or DEFAULT_FONT_DIR)
    with _fonts_lock:
        if _fonts.get("directory") == directory:
            return
        for name, filename in FONT_FILES.items():
            path = directory / filename
            if not path.is_file():
                raise ImproperlyConfigured(
                    f"The prescription PDF needs the font {path}. Install Debian's "
                    "fonts-noto-core, or set PDF_FONT_DIR to a directory holding "
                    f"{', '.join(FONT_FILES.values())}."
                )
            font = TTFont(name, str(path), shapable=True)
            if not font.shapable:
                raise ImproperlyConfigured(
                    "uharfbuzz is not installed: without it ReportLab cannot shape Devanagari "
                    "and Hindi would print with its vowel signs on the wrong letters."
                )
            pdfmetrics.registerFont(font)
            if name == DEVANAGARI:
                _fonts["devanagari_chars"] = frozenset(font.face.charToGlyph)
        _fonts["directory"] = directory


def _is_devanagari(char: str) -> bool:
    # The Devanagari blocks, plus the zero-width (non-)joiners that steer its conjuncts.
    return (
        "\u0900" <= char <= "\u097f"
        or "\ua8e0" <= char <= "\ua8ff"
        or "\u1cd0" <= char <= "\u1cff"
        or char in "\u200c\u200d"
    )


def has_devanagari(text: str) -> bool:
    return any(_is_devanagari(char) for char in text)


def _word_markup(word: str, *, bold: bool) -> str:
    """A word holding Devanagari, in the Devanagari font. HarfBuzz shapes a whole word with one
    font, so a word mixing Latin letters into Devanagari is split into runs (set a space apart)
    rather than printed with missing glyphs."""
    deva_font = DEVANAGARI_BOLD if bold else DEVANAGARI
    deva_chars: frozenset[int] = _fonts["devanagari_chars"]

    def in_devanagari(char: str) -> bool:
        return _is_devanagari(char) or (not char.isalpha() and ord(char) in deva_chars)

    runs: list[tuple[bool, str]] = []
    for char in word:
        deva = in_devanagari(char)
        if runs and runs[-1][0] == deva:
            runs[-1] = (deva, runs[-1][1] + char)
        else:
            runs.append((deva, char))
    return " ".join(
        f'<font name="{deva_font}">{escape(text)}</font>' if deva else escape(text)
        for deva, text in runs
    )


def markup(text: str, *, bold: bool = False) -> str:
    """Paragraph markup for plain text (escaped; line breaks kept; scripts in their fonts)."""
    parts = []
    for token in re.split(r"(\s+)", text.strip()):
        if not token:
            continue
        if token.isspace():
            parts.append("<br/>" * token.count("\n") or " ")
        elif has_devanagari(token):
            parts.append(_word_markup(token, bold=bold))
        else:
            parts.append(escape(token))
    return "".join(parts)


# --- Paragraphs -----------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=LATIN, fontSize=9.5, leading=13, textColor=INK)
    styles = {
        "body": body,
        "bold": ParagraphStyle("bold", parent=body, fontName=LATIN_BOLD),
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10.5),
        "label": ParagraphStyle(
            "label", parent=body, fontName=LATIN_BOLD, fontSize=8, leading=10.5, textColor=GREEN
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11),
        "cell_head": ParagraphStyle(
            "cell_head", parent=body, fontName=LATIN_BOLD, fontSize=8, leading=10.5
        ),
        "heading": ParagraphStyle(
            "heading",
            parent=body,
            fontName=LATIN_BOLD,
            fontSize=10.5,
            leading=14,
            textColor=GREEN,
            spaceBefore=6,
            spaceAfter=1,
        ),
        "title": ParagraphStyle(
            "title", parent=body, fontName=LATIN_BOLD, fontSize=16, leading=20, textColor=GREEN
        ),
        "statement": ParagraphStyle("statement", parent=body, fontSize=7.5, leading=10),
    }
    # Each style in two variants: shaped for text holding Devanagari, plain for the rest.
    for name, style in list(styles.items()):
        styles[f"{name}:shaped"] = ParagraphStyle(f"{name}:shaped", parent=style, shaping=1)
    return styles


class Writer:
    """Paragraphs in one document's styles."""

    def __init__(self) -> None:
        self.styles = _styles()

    def para(self, text: object, style: str = "body") -> Paragraph:
        text = str(text)
        chosen = self.styles[f"{style}:shaped" if has_devanagari(text) else style]
        return Paragraph(markup(text, bold=chosen.fontName == LATIN_BOLD), chosen)

    def pairs(self, rows: Iterable[tuple[object, object]]) -> list[Paragraph]:
        """Labelled lines ("Label: value"), skipping empty values."""
        return [self.para(f"{label}: {value}") for label, value in rows if value not in (None, "")]

    def section(self, title: object, text: str) -> list[Flowable]:
        if not text.strip():
            return []
        return [KeepTogether([self.para(title, "heading"), self.para(text)])]
