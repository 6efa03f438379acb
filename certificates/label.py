"""Bag label (design §4, §9; blinded; 21 CFR 1271.370 / 1271.90).

One page of the label's size (100 × 100 mm by default): the DIN as Code 128 barcode
with the eye-readable DIN and its boxed check character, recipient and kit code, product
name, volume, the recipient's date of birth (the bedside's second identifier), expiry
and storage, and the statements autologous products must carry. Identical
layout and wording for MSC and placebo bags (design §7).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table

from certificates.common import (
    FONT_BOLD,
    INK,
    MUTED,
    DinBlock,
    layout,
    local_time,
    qr_code,
    qr_payload,
    quantity,
    styles,
)
from certificates.furniture import Furniture, build_pdf
from lottrack.kernel.units import Dim
from lottrack.views.documents.data import NOT_EVALUATED, BagLabelData

MARGIN = 4 * mm
TITLE = "BAG LABEL"


def _style(name: str, size: float, *, bold: bool = False, align: int = 0) -> ParagraphStyle:
    return ParagraphStyle(
        name,
        parent=styles()["body"],
        fontName=FONT_BOLD if bold else styles()["body"].fontName,
        fontSize=size,
        leading=size * 1.22,
        alignment=align,
    )


def _caption(text: str) -> str:
    return f'<font size="5.5" color="{MUTED.hexval()}">{escape(text)}</font><br/>'


def _grid(
    rows: list[list[object]], widths: list[float], *, box: bool = False, pad: float = 1.2
) -> Table:
    commands: list[tuple[object, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), pad),
        ("TOPPADDING", (0, 0), (-1, -1), pad),
        ("BOTTOMPADDING", (0, 0), (-1, -1), pad),
    ]
    if box:
        commands.append(("BOX", (0, 0), (-1, -1), 1, INK))
    return layout(rows, widths, commands)


def _story(data: BagLabelData, width: float) -> list[Flowable]:
    value = _style("value", 10, bold=True)
    small = _style("small", 7)
    half = width / 2
    ident = _grid(
        [
            [
                DinBlock(data.din, bar_width=0.25 * mm, bar_height=12 * mm, font_size=9.5),
                [
                    Paragraph(
                        _caption("Recipient (subject code)") + escape(data.subject_code), value
                    ),
                    Spacer(1, 1 * mm),
                    Paragraph(_caption("Kit code") + escape(data.kit_code), value),
                ],
            ]
        ],
        [half + 4 * mm, half - 4 * mm],
        pad=0,
    )
    product = Paragraph(escape(data.product_name), _style("product", 8.5, bold=True))
    detail = _style("detail", 8, bold=True)
    details = _grid(
        [
            [
                Paragraph(
                    _caption("Volume") + escape(quantity(data.volume_ml, Dim.VOLUME, data)), detail
                ),
                Paragraph(
                    _caption("Date of birth (recipient)") + escape(data.date_of_birth.isoformat()),
                    detail,
                ),
            ],
            [
                Paragraph(_caption("Expires") + escape(local_time(data.expires_at, data)), detail),
                Paragraph(
                    _caption("Storage temperature") + escape(data.storage_temperature), detail
                ),
            ],
        ],
        [half, half],
        pad=0,
    )
    autologous = _grid(
        [
            [
                Paragraph(
                    escape(data.autologous_statement),
                    _style("autologous", 10.5, bold=True, align=1),
                )
            ]
        ],
        [width],
        box=True,
        pad=2,
    )
    statements: list[Flowable] = []
    if data.not_evaluated_for_infectious_substances:
        statements.append(Paragraph(NOT_EVALUATED, _style("warn", 7.5, bold=True)))
    statements += [
        Paragraph(escape(data.infectious_agents_warning), _style("warn2", 7)),
        Paragraph(escape(data.trial_statement), small),
    ]
    qr_size = 17 * mm
    tail = _grid(
        [[statements, qr_code(qr_payload(data), qr_size)]],
        [width - qr_size - 2 * mm, qr_size + 2 * mm],
        pad=0,
    )
    return [
        ident,
        Spacer(1, 3 * mm),
        product,
        Spacer(1, 2.5 * mm),
        details,
        Spacer(1, 3 * mm),
        autologous,
        Spacer(1, 2.5 * mm),
        tail,
    ]


def render_label(data: BagLabelData, *, copy: bool = False) -> bytes:
    """The bag label as PDF bytes (one page of the label size); ``copy`` marks a reprint
    COPY."""
    pagesize = (data.width_mm * mm, data.height_mm * mm)
    furniture = Furniture(data, TITLE, copy, margin=MARGIN, compact=True)
    story = _story(data, pagesize[0] - 2 * MARGIN)
    return build_pdf(
        story,
        furniture,
        pagesize=pagesize,
        top=MARGIN + 7.5 * mm,
        bottom=MARGIN + 2.5 * mm,
        subject=f"Bag label, subject {data.subject_code}, kit {data.kit_code}",
    )
