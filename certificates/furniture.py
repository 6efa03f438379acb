"""The page furniture and the PDF file of every document.

The header and footer (facility, document id, "Page x of y", the COPY mark of a reprint)
are drawn by page callbacks; the page total is a form XObject referenced on every page and
defined once the last page is known, so a document is laid out in a single pass.
``invariant=1`` and fixed metadata make the same data give the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
)

from certificates.common import ALERT, FONT, FONT_BOLD, INK, MUTED, RULE, register_fonts
from lottrack.views.documents.data import (
    CHAIN_HEAD_KEYWORD,
    DocumentData,
)

_PAGE_TOTAL_FORM = "lottrackPageTotal"


def fitted_string(
    canv: Canvas,
    x: float,
    y: float,
    text: str,
    font: str,
    size: float,
    max_width: float,
    *,
    align: str = "left",
    min_size: float = 5.5,
) -> None:
    """Draw one line of ``text`` no wider than ``max_width``: the font shrinks down to
    ``min_size``, then the text is cut with an ellipsis (a long facility name must never
    run into the document title)."""
    while size > min_size and canv.stringWidth(text, font, size) > max_width:
        size -= 0.25
    if canv.stringWidth(text, font, size) > max_width:
        while text and canv.stringWidth(text + "…", font, size) > max_width:
            text = text[:-1]
        text = text.rstrip() + "…"
    canv.setFont(font, size)
    if align == "right":
        canv.drawRightString(x, y, text)
    else:
        canv.drawString(x, y, text)


@dataclass(frozen=True)
class Furniture:
    """Header, footer and COPY mark, drawn by the page callbacks of every page."""

    data: DocumentData
    title: str
    copy: bool
    margin: float = 15 * mm
    compact: bool = False
    """Label size: a one-line header and a small footer."""

    @property
    def footer_size(self) -> float:
        """Font size of the footer (the page total form uses it too)."""
        return 5.5 if self.compact else 7

    def draw(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        """Draw the page's furniture (called before the page's content)."""
        canv.saveState()
        if self.copy:
            self._copy_mark(canv, doc)
        if self.compact:
            self._compact_header(canv, doc)
        else:
            self._header(canv, doc)
        self._footer(canv, doc)
        canv.restoreState()

    def _copy_mark(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        width, height = doc.pagesize
        canv.saveState()
        canv.setFillColor(ALERT)
        canv.setFillAlpha(0.12)
        canv.translate(width / 2, height / 2)
        canv.rotate(45)
        size = min(width, height) * (0.3 if self.compact else 0.22)
        canv.setFont(FONT_BOLD, size)
        canv.drawCentredString(0, -size / 3, "COPY")
        canv.restoreState()

    def _header(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        width, height = doc.pagesize
        left, right, top = self.margin, width - self.margin, height - 10 * mm
        facility = self.data.facility
        half = (right - left) / 2 - 4 * mm
        canv.setFillColor(INK)
        fitted_string(canv, left, top, facility.name, FONT_BOLD, 9.5, half)
        canv.setFillColor(MUTED)
        fitted_string(canv, left, top - 9, facility.address, FONT, 7, half)
        canv.setFont(FONT, 7)
        canv.drawString(
            left, top - 17, f"ISBT 128 facility identification number (FIN) {facility.fin}"
        )
        canv.setFillColor(INK)
        fitted_string(canv, right, top, self.title, FONT_BOLD, 8, half, align="right")
        canv.setFont(FONT, 7)
        canv.drawRightString(right, top - 9, f"Document ID {self.data.document_id}")
        if self.copy:
            canv.setFillColor(ALERT)
            canv.setFont(FONT_BOLD, 9)
            canv.drawRightString(right, top - 19, "COPY — REPRINT OF AN ISSUED DOCUMENT")
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.6)
        canv.line(left, top - 23, right, top - 23)

    def _compact_header(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        width, height = doc.pagesize
        left, right, top = self.margin, width - self.margin, height - self.margin - 5
        facility = self.data.facility
        room = right - left - (9 * mm if self.copy else 0)
        canv.setFillColor(INK)
        fitted_string(canv, left, top, facility.name, FONT_BOLD, 6.5, room)
        fitted_string(
            canv, left, top - 7, f"{facility.address} · FIN {facility.fin}", FONT, 5.5, right - left
        )
        if self.copy:
            canv.setFillColor(ALERT)
            canv.setFont(FONT_BOLD, 7)
            canv.drawRightString(right, top, "COPY")
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.4)
        canv.line(left, top - 10, right, top - 10)

    def _footer(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        width, _ = doc.pagesize
        size = self.footer_size
        left, right = self.margin, width - self.margin
        y = self.margin - (3 * mm if not self.compact else 0) - size
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.4)
        canv.line(left, y + size + 3, right, y + size + 3)
        canv.setFillColor(MUTED)
        canv.setFont(FONT, size)
        digest = self.data.content_sha256
        note = (
            f"{self.data.document_id} · SHA-256 {digest[:16]}…"
            if self.compact
            else f"Document ID {self.data.document_id} · certified content SHA-256 "
            f"{digest[:16]}… (in full in the document)"
        )
        page = f"Page {doc.page} of "
        x = right - canv.stringWidth("Page 999 of 999", FONT, size)
        seq, head = self.data.chain_seq, self.data.chain_hash
        if seq is not None and self.compact:  # a label has room for one line: the content
            note = f"{self.data.document_id} · audit #{seq} {head[:16]}"  # hash is in its QR
        elif seq is not None:
            fitted_string(
                canv,
                left,
                y - size - 1.5,
                f"Audit trail at issue: event #{seq} · {head}",
                FONT,
                size,
                right - left,
            )
        fitted_string(canv, left, y, note, FONT, size, x - left - 2)
        canv.setFont(FONT, size)  # fitted_string may have shrunk it
        canv.drawString(x, y, page)
        canv.translate(x + canv.stringWidth(page, FONT, size), y)
        canv.doForm(_PAGE_TOTAL_FORM)


def _canvas_class(font_size: float) -> type[Canvas]:
    class _PageTotalCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
        """Defines the page-total form, referenced by every footer, when saving."""

        def save(self) -> None:
            total = self.getPageNumber() - 1
            self.beginForm(_PAGE_TOTAL_FORM)
            self.setFillColor(MUTED)
            self.setFont(FONT, font_size)
            self.drawString(0, 0, str(total))
            self.endForm()
            super().save()

    return _PageTotalCanvas


def build_pdf(
    story: list[Flowable],
    furniture: Furniture,
    *,
    pagesize: tuple[float, float],
    top: float,
    bottom: float,
    subject: str,
) -> bytes:
    """Lay out ``story`` and return the PDF bytes (the same story gives the same bytes).

    The frame has no padding, so a table as wide as the page between the margins fits.
    """
    register_fonts()
    out = io.BytesIO()
    data = furniture.data
    width, height = pagesize
    margin = furniture.margin
    frame = Frame(
        margin,
        bottom,
        width - 2 * margin,
        height - top - bottom,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc = BaseDocTemplate(
        out,
        pagesize=pagesize,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=top,
        bottomMargin=bottom,
        invariant=1,
        pageCompression=1,
        initialFontName=FONT,
        initialFontSize=8,
        title=f"{furniture.title} {data.document_id}".strip(),
        author=data.facility.name,
        subject=subject,
        creator="lottrack",
        producer="lottrack (reportlab)",
        keywords=f"sha256:{data.content_sha256}"
        + (
            f" {CHAIN_HEAD_KEYWORD}:{data.chain_seq}:{data.chain_hash}"
            if data.chain_seq is not None
            else ""
        ),
        lang="en",
        pageTemplates=[PageTemplate(id="page", frames=[frame], onPage=furniture.draw)],
    )
    doc.build(story, canvasmaker=_canvas_class(furniture.footer_size))
    return out.getvalue()


def build_a4_pdf(
    story: list[Flowable], data: DocumentData, title: str, *, copy: bool, subject: str
) -> bytes:
    """An A4 document (certificates, reports): :func:`build_pdf` with the full header and
    footer of :class:`Furniture`, 28 mm of page above the story and 20 mm below it."""
    return build_pdf(
        story,
        Furniture(data, title, copy),
        pagesize=A4,
        top=28 * mm,
        bottom=20 * mm,
        subject=subject,
    )
