"""Printed letters: an outbox message as an A4 PDF for a DL window envelope (WeasyPrint).

The letter is the message's own document (``comms/<kind>.html``, the same words as the
email) inside ``comms/letter.html``: the provider's name and address at the top right, the
recipient's address where the envelope's window shows it, the date and the reference, the
body, and "Page X of Y" at the foot of every page (later pages also carry the provider's name
and the reference at the top).

The window. A4 folded in three (99 mm panels) goes into a DL envelope (110 x 220 mm), or a
C5/6 (114 x 229 mm) with the same window. The standard DL window is 90 x 35 mm, 20 mm from
the envelope's left edge; with the letter at the bottom of the envelope it shows the area of
the A4 page 20 mm from the left edge and about 50 mm from the top (:data:`DL_WINDOW`). The
address is set inside that area with a clear margin on every side (:data:`ADDRESS_INSET_MM`)
so that a letter moving a little in its envelope still shows the whole address and nothing
else: the letterhead sits to the right of the window (from 115 mm) and the date and the
reference below it. Fold marks at 99 mm and 198 mm in the left margin show where to fold.
The tests read the PDF back (``pdftotext -bbox``) and check that every word of the address is
inside the window and no other word is.

Large print. Whenever the message's formats include ``large_print`` (the customer's needs
when the message was written), everything but the address is set at 16 pt or more (body
16 pt, headings 20 and 18 pt, the page header and footer 16 pt), following RNIB's clear print
guidance; the address keeps to the window, at 16 pt when it fits (5 lines) and smaller only
when a long address needs it.

The date. A letter is dated the day it is printed for the post (:func:`letter_store`, by
default ``now``'s UK date); :func:`amends.comms.printqueue.letter_mark_posted` prints a
missing letter dated its posting date, which is the letter's date of issue for the clocks and
for the customer's 12 months. A stored letter is never printed again: it is the evidence of
what was sent.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.utils.safestring import SafeString, mark_safe

from amends.comms.documents import LONDON, context_for, render_template
from amends.comms.models import OutboxKind, OutboxMessage

__all__ = [
    "ADDRESS_INSET_MM",
    "A4_MM",
    "DL_WINDOW",
    "LARGE_PRINT_PT",
    "LetterLayout",
    "Window",
    "address_box",
    "letter_date_of",
    "letter_html",
    "letter_layout",
    "letter_pdf",
    "letter_store",
]

log = logging.getLogger(__name__)

MM_PER_PT = 25.4 / 72

#: A4 portrait, width x height in millimetres.
A4_MM = (210.0, 297.0)


@dataclass(frozen=True)
class Window:
    """A rectangle on the A4 page, in millimetres from its top-left corner."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def inset(self, horizontal: float, vertical: float) -> Window:
        return Window(
            self.left + horizontal,
            self.top + vertical,
            self.width - 2 * horizontal,
            self.height - 2 * vertical,
        )

    def contains(self, left: float, top: float, right: float, bottom: float) -> bool:
        return (
            self.left <= left and right <= self.right and self.top <= top and bottom <= self.bottom
        )


#: The part of an A4 page a standard DL (and C5/6) envelope's window shows: 90 x 35 mm,
#: 20 mm from the left edge and 50 mm from the top of the page.
DL_WINDOW = Window(left=20.0, top=50.0, width=90.0, height=35.0)

#: The clear margin between the address and the window's edges (left and right, top and
#: bottom): the address never touches the edge of the window.
ADDRESS_INSET_MM = (4.0, 1.75)

#: The address's line height, as a multiple of its font size.
ADDRESS_LINE_HEIGHT = 1.1

#: Body text sizes (pt): ordinary and large print (RNIB clear print: 16 pt or more).
BODY_PT = 12.0
LARGE_PRINT_PT = 16.0

#: The smallest address size used to fit a long address into the window.
ADDRESS_MIN_PT = 8.0

#: The page margins (mm); the first page starts higher to leave room for the letterhead.
MARGINS_MM = {"top": 22.0, "right": 20.0, "bottom": 24.0, "left": 20.0}
FIRST_PAGE_TOP_MM = 12.0

#: The letterhead starts here (mm from the page's left edge): right of the window.
LETTERHEAD_LEFT_MM = 118.0

#: Where the page is folded for a DL envelope (mm from the top): three equal panels.
FOLDS_MM = (99.0, 198.0)


def address_box() -> Window:
    """Where the address is set: the DL window less the clear margin."""
    horizontal, vertical = ADDRESS_INSET_MM
    return DL_WINDOW.inset(horizontal, vertical)


# --------------------------------------------------------------------------- measuring text

_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


@cache
def _advances() -> tuple[dict[int, float], float] | None:
    """DejaVu Sans advance widths (em) by code point, and its widest glyph; None when the
    font file is not found (then a generous estimate is used)."""
    for candidate in _FONT_FILES:
        if Path(candidate).exists():
            break
    else:
        return None
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(candidate, lazy=True)
        units = float(font["head"].unitsPerEm)
        metrics = font["hmtx"].metrics
        cmap = font.getBestCmap()
        widths = {code: metrics[glyph][0] / units for code, glyph in cmap.items()}
    except Exception:  # a font we cannot read: estimate instead
        log.warning("letters: cannot read the font metrics; estimating address widths")
        return None
    return widths, max(widths.values())


def text_width_pt(text: str, size_pt: float) -> float:
    """The width of ``text`` set in DejaVu Sans at ``size_pt`` (the letter's font)."""
    found = _advances()
    if found is None:
        return len(text) * 0.72 * size_pt
    widths, widest = found
    return sum(widths.get(ord(ch), widest) for ch in text) * size_pt


def _fit(lines: list[str], box: Window, preferred: float) -> float:
    """The largest size, up to ``preferred``, at which ``lines`` fit ``box`` (0.25 pt steps)."""
    height_pt = box.height / MM_PER_PT
    width_pt = box.width / MM_PER_PT
    size = min(preferred, height_pt / (max(len(lines), 1) * ADDRESS_LINE_HEIGHT))
    widest = max((text_width_pt(line, 1.0) for line in lines), default=0.0)
    if widest > 0:
        size = min(size, width_pt / widest)
    return math.floor(size * 4) / 4


def address_lines(name: str, address: str) -> list[str]:
    """The recipient's name and address, one line each (blank lines dropped)."""
    lines = [name.strip()] if name.strip() else []
    for line in address.splitlines():
        line = line.strip().rstrip(",")
        if line and line != (lines[0] if lines else None):
            lines.append(line)
    return lines


def _split_commas(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(part.strip() for part in line.split(",") if part.strip())
    return out


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class LetterLayout:
    large_print: bool
    body_pt: float
    small_pt: float
    h1_pt: float
    h2_pt: float
    address_pt: float
    address_lines: tuple[str, ...]
    box: Window


def letter_layout(message: OutboxMessage) -> LetterLayout:
    large = "large_print" in (message.formats or [])
    preferred = LARGE_PRINT_PT if large else BODY_PT
    box = address_box()
    lines = address_lines(message.recipient_name, message.recipient_address)
    size = _fit(lines, box, preferred)
    if size < preferred:  # a long line written with commas may fit better split at them
        split = _split_commas(lines)
        split_size = _fit(split, box, preferred)
        if split_size > size:
            lines, size = split, split_size
    size = max(size, ADDRESS_MIN_PT)
    if large:
        return LetterLayout(
            True, LARGE_PRINT_PT, LARGE_PRINT_PT, 20.0, 18.0, size, tuple(lines), box
        )
    return LetterLayout(False, BODY_PT, 9.5, 16.0, 13.0, size, tuple(lines), box)


def _css_string(text: str) -> SafeString:
    """A CSS string literal (for the running header), safe inside <style>."""
    escaped = "".join(
        ch if ch.isalnum() or ch in " -.,:;()/&'" else f"\\{ord(ch):x} " for ch in text
    )
    return mark_safe(f'"{escaped}"')  # noqa: S308 - every other character is escaped


def letter_date_of(message: OutboxMessage) -> date:
    """The date a letter bears: posted, or written."""
    moment = message.sent_at or message.created_at
    return moment.astimezone(LONDON).date()


def letter_html(message: OutboxMessage, *, dated: date | None = None) -> str:
    """The printed letter as HTML (what WeasyPrint lays out)."""
    case = message.case
    provider = message.provider
    layout = letter_layout(message)
    dated = dated or letter_date_of(message)
    context: dict[str, Any] = context_for(
        OutboxKind(message.kind),
        provider=provider,
        case=case,
        payload=message.payload,
        channel="post",
        recipient_name=message.recipient_name,
        letter_date=dated,
    )
    box = layout.box
    first_top = FIRST_PAGE_TOP_MM
    context["subject"] = message.subject
    context["large_print"] = layout.large_print
    context["letter"] = {
        "large_print": layout.large_print,
        "body_pt": layout.body_pt,
        "small_pt": layout.small_pt,
        "h1_pt": layout.h1_pt,
        "h2_pt": layout.h2_pt,
        "address_pt": layout.address_pt,
        "address_line_height": ADDRESS_LINE_HEIGHT,
        "address_lines": list(layout.address_lines),
        "margin_top_mm": MARGINS_MM["top"],
        "margin_right_mm": MARGINS_MM["right"],
        "margin_bottom_mm": MARGINS_MM["bottom"],
        "margin_left_mm": MARGINS_MM["left"],
        "first_margin_top_mm": first_top,
        # Positions inside the first page's content box (its top-left corner is at the
        # left margin and the first page's top margin).
        "address_left_mm": box.left - MARGINS_MM["left"],
        "address_top_mm": box.top - first_top,
        "address_width_mm": box.width,
        "address_height_mm": box.height,
        "first_block_mm": DL_WINDOW.bottom - first_top,
        "letterhead_left_mm": LETTERHEAD_LEFT_MM - MARGINS_MM["left"],
        "fold_left_mm": 5.0 - MARGINS_MM["left"],
        "fold_1_mm": FOLDS_MM[0] - first_top,
        "fold_2_mm": FOLDS_MM[1] - first_top,
        "running_header": _css_string(
            f"{context['provider']['name']} \u2014 reference {context['reference']}"
        ),
    }
    return render_template("letter.html", context)


def letter_pdf(message: OutboxMessage, *, dated: date | None = None) -> bytes:
    """The message as an A4 PDF letter (see the module docstring)."""
    # WeasyPrint reports every step at INFO; stderr is for problems.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    from weasyprint import HTML

    pdf = HTML(string=letter_html(message, dated=dated), base_url=None).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def letter_store(
    message: OutboxMessage, now: datetime, *, dated: date | None = None
) -> OutboxMessage:
    """Print the letter (dated ``dated``, by default ``now``'s UK date) and store it with the
    message through the storage API, with its SHA-256. A letter already stored is kept as it
    is (it is the evidence of what was sent); of two processes storing at once, the first
    wins and the other's file is removed."""
    if message.document:
        return message
    dated = dated or now.astimezone(LONDON).date()
    pdf = letter_pdf(message, dated=dated)
    digest = hashlib.sha256(pdf).hexdigest()
    field = OutboxMessage._meta.get_field("document")
    reference = (message.case.reference if message.case is not None else "") or "letter"
    name = field.generate_filename(
        message, f"{reference}-{message.kind}-{message.pk}-{dated.isoformat()}.pdf"
    )
    storage = message.document.storage
    stored = storage.save(name, ContentFile(pdf))
    updated = OutboxMessage.objects.filter(pk=message.pk, document="").update(
        document=stored, document_sha256=digest
    )
    if not updated:
        storage.delete(stored)
        message.refresh_from_db(fields=["document", "document_sha256"])
        return message
    message.document.name = stored
    message.document_sha256 = digest
    log.info("letter stored", extra={"outbox_id": message.pk})
    return message
