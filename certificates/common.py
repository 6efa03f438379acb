"""What every document's story shares: the embedded font, colours, styles, tables, the
DIN block and QR code of the identification, the signature status.

Documents are reportlab Platypus stories drawn from a frozen data object; the page
furniture around them and the PDF file are :mod:`certificates.furniture`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.code128 import Code128Auto
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Paragraph,
    Table,
    TableStyle,
)

# the renderers' shared text forms, re-exported (they live without reportlab)
from certificates.text import fixed as fixed
from certificates.text import local_time as local_time
from certificates.text import local_time_cell as local_time_cell
from certificates.text import number as number
from certificates.text import qr_payload as qr_payload
from certificates.text import quantity as quantity
from lottrack.views.documents.data import (
    DinText,
    DocumentData,
    SignatureManifestation,
)

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
_FONT_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#9a9a9a")
SHADE = colors.HexColor("#e9edf2")
ZEBRA = colors.HexColor("#f6f7f9")
ALERT = colors.HexColor("#b00020")
INVALIDATED = "INVALIDATED (record changed after signing)"


# ----------------------------------------------------------------------- fonts, styles


@cache
def register_fonts() -> None:
    """Register the embedded DejaVu Sans TTFs (they print µ, ×, ≥, ⁶ …) once."""
    fonts = resources.files("certificates").joinpath("fonts")
    for name, filename in _FONT_FILES.items():
        data = fonts.joinpath(filename).read_bytes()
        pdfmetrics.registerFont(TTFont(name, io.BytesIO(data)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )


@cache
def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles by name: title, subtitle, h2, body, small, label, cell, cellb,
    tiny, banner."""
    register_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11, textColor=INK)
    return {
        "title": ParagraphStyle(
            "title", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=1 * mm
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=8.5, leading=11, textColor=MUTED, spaceAfter=3 * mm
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=10,
            leading=13,
            spaceBefore=4 * mm,
            spaceAfter=1.5 * mm,
        ),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=9, textColor=MUTED),
        "label": ParagraphStyle(
            "label", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED, spaceAfter=0.5 * mm
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.2),
        "cellb": ParagraphStyle(
            "cellb", parent=base, fontName=FONT_BOLD, fontSize=7.5, leading=9.2
        ),
        "tiny": ParagraphStyle("tiny", parent=base, fontSize=6, leading=7.4),
        "banner": ParagraphStyle(
            "banner", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14, alignment=TA_CENTER
        ),
    }


def para(text: str, style: str = "body", *, markup: bool = False) -> Paragraph:
    """A paragraph of plain ``text`` (escaped unless ``markup``)."""
    return Paragraph(text if markup else escape(text), styles()[style])


# ------------------------------------------------------------------------ formatting


def signature_status(signature: SignatureManifestation) -> str:
    """Markup for a signature's status: ``valid`` or a red INVALIDATED notice."""
    if signature.valid:
        return "valid"
    return f'<font name="{FONT_BOLD}" color="{ALERT.hexval()}">{INVALIDATED}</font>'


# ------------------------------------------------------------------------ flowables


class DinBlock(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """The ISBT 128 DIN: Code 128 barcode of the barcode data, and under it the
    eye-readable DIN followed by its check character in a box (design §4.2)."""

    def __init__(
        self,
        din: DinText,
        *,
        bar_width: float = 0.25 * mm,
        bar_height: float = 10 * mm,
        font_size: float = 10,
    ) -> None:
        super().__init__()
        self.din = din
        self.font_size = font_size
        self.barcode = Code128Auto(
            din.barcode_data,
            barWidth=bar_width,
            barHeight=bar_height,
            humanReadable=False,
            quiet=True,
            lquiet=10 * bar_width,
            rquiet=10 * bar_width,
        )
        register_fonts()
        self._text_width = pdfmetrics.stringWidth(din.eye_readable + " ", FONT_BOLD, font_size)
        self._box = font_size * 1.25
        self.width = max(self.barcode.width, self._text_width + self._box)
        self.height = bar_height + 1.2 * mm + self._box

    def wrap(self, *_available: float) -> tuple[float, float]:
        """The block's fixed size, whatever space is available."""
        return self.width, self.height

    def draw(self) -> None:
        """Barcode on top, eye-readable DIN and boxed check character below."""
        canv = self.canv
        self.barcode.drawOn(canv, (self.width - self.barcode.width) / 2, self._box + 1.2 * mm)
        start = (self.width - self._text_width - self._box) / 2
        baseline = (self._box - self.font_size * 0.72) / 2
        canv.setFillColor(INK)
        canv.setFont(FONT_BOLD, self.font_size)
        canv.drawString(start, baseline, self.din.eye_readable + " ")
        box_x = start + self._text_width
        canv.setLineWidth(0.8)
        canv.rect(box_x, 0, self._box, self._box, stroke=1, fill=0)
        canv.drawCentredString(box_x + self._box / 2, baseline, self.din.check)


class QrCode(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """A QR code (error correction M), ``size`` points square including the 4-module
    quiet zone of ISO/IEC 18004.

    Modules are encoded by reportlab's encoder and drawn as one rectangle per run of dark
    modules: reportlab's QR widget builds a shape object per module, which costs about
    ten times as much as the rest of a certificate.
    """

    QUIET = 4

    def __init__(self, payload: str, size: float) -> None:
        super().__init__()
        qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        qr.addData(payload)
        qr.make()
        count = qr.getModuleCount()
        self.modules = [[bool(qr.isDark(r, c)) for c in range(count)] for r in range(count)]
        self.width = self.height = size

    def wrap(self, *_available: float) -> tuple[float, float]:
        """The code's fixed size, whatever space is available."""
        return self.width, self.height

    def draw(self) -> None:
        """Each row's runs of dark modules as filled rectangles."""
        canv = self.canv
        count = len(self.modules)
        unit = self.width / (count + 2 * self.QUIET)
        canv.setFillColor(colors.black)
        for r, row in enumerate(self.modules):
            y = self.height - (self.QUIET + r + 1) * unit
            c = 0
            while c < count:
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < count and row[c]:
                    c += 1
                canv.rect(
                    (self.QUIET + start) * unit, y, (c - start) * unit, unit, stroke=0, fill=1
                )


def qr_code(payload: str, size: float) -> QrCode:
    """A QR code of ``payload``, ``size`` points square."""
    return QrCode(payload, size)


def table(
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    header: bool = True,
    zebra: bool = True,
    box: bool = True,
    font_size: float = 7.5,
) -> Table:
    """A ruled table; string cells become wrapping paragraphs (markup allowed)."""
    cell, cellb = styles()["cell"], styles()["cellb"]
    body = [
        [
            Paragraph(c, cellb if header and r == 0 else cell) if isinstance(c, str) else c
            for c in row
        ]
        for r, row in enumerate(rows)
    ]
    t = Table(body, colWidths=list(widths), repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, font_size),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE if box else SHADE),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if box:
        commands.append(("BOX", (0, 0), (-1, -1), 0.5, RULE))
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    if zebra:
        first = 1 if header else 0
        commands += [("BACKGROUND", (0, r), (-1, r), ZEBRA) for r in range(first + 1, len(rows), 2)]
    t.setStyle(TableStyle(commands))
    return t


def layout(
    rows: Sequence[Sequence[Any]], widths: Sequence[float], commands: Sequence[tuple[Any, ...]] = ()
) -> Table:
    """A table used for layout only, set in the embedded font (a reportlab table otherwise
    selects Helvetica, even when it prints nothing in it)."""
    t = Table([list(row) for row in rows], colWidths=list(widths))
    t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), *commands]))
    return t


def identification(details: Flowable, data: DocumentData, din: DinText, width: float) -> Table:
    """Details on the left; on the right the DIN (barcode, eye-readable, boxed check
    character) above the QR code of the document id and content hash."""
    left_width = 122 * mm
    right = layout(
        [[DinBlock(din, font_size=10)], [qr_code(qr_payload(data), 24 * mm)]],
        [width - left_width],
        [
            ("ALIGN", (0, 0), (-1, -1), "CENTER"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 1), (-1, 1), 3 * mm),
        ],
    )
    return layout(
        [[details, right]],
        [left_width, width - left_width],
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ],
    )


def banner(
    text: str, width: float, *, style: str = "banner", box: float = 1.2, padding: float = 3
) -> Table:
    """A boxed, bold, centred statement (``FOR AUTOLOGOUS USE ONLY``)."""
    return layout(
        [[para(text, style)]],
        [width],
        [
            ("BOX", (0, 0), (-1, -1), box, INK),
            ("TOPPADDING", (0, 0), (-1, -1), padding),
            ("BOTTOMPADDING", (0, 0), (-1, -1), padding + 1),
        ],
    )


def fields(pairs: Sequence[tuple[str, str]], widths: Sequence[float]) -> Table:
    """A label / value table (labels muted, values as markup)."""
    rows = [[f'<font color="{MUTED.hexval()}">{escape(k)}</font>', v] for k, v in pairs]
    t = table(rows, widths, header=False, zebra=False, box=False)
    t.setStyle(TableStyle([("LEFTPADDING", (0, 0), (0, -1), 0)]))  # labels align with headings
    return t
