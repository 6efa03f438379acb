"""Infusion certificate (design §9; blinded, per infusion).

Nothing on it depends on the arm: the layout and wording are fixed, and the data object
holds no field that differs between an MSC bag and a placebo bag (design §7).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from certificates.common import (
    FONT_BOLD,
    banner,
    fields,
    identification,
    local_time,
    para,
    quantity,
    signature_status,
    table,
)
from certificates.furniture import build_a4_pdf
from lottrack.kernel.units import Dim
from lottrack.views.documents.data import InfusionCertificateData, SignatureManifestation

WIDTH = A4[0] - 30 * mm
TITLE = "INFUSION CERTIFICATE"
LABEL_WIDTH = 42 * mm


def _bold(text: str) -> str:
    return f'<font name="{FONT_BOLD}">{escape(text)}</font>'


def _identification(data: InfusionCertificateData) -> Flowable:
    pairs = [
        ("Subject code", _bold(data.subject_code)),
        ("Date of birth", _bold(data.date_of_birth.isoformat())),
        ("Visit", escape(f"Period {data.visit_period} (week {data.visit_week})")),
        ("Kit code", _bold(data.kit_code)),
        ("DIN", escape(f"{data.din.eye_readable} {data.din.check}")),
        ("Product", escape(data.product_name)),
        ("Volume", escape(quantity(data.volume_ml, Dim.VOLUME, data))),
        ("Expiry", escape(local_time(data.expires_at, data))),
        ("Storage", escape(data.storage)),
    ]
    return identification(fields(pairs, [32 * mm, 88 * mm]), data, data.din, WIDTH)


def _signature_row(
    step: str, s: SignatureManifestation | None, data: InfusionCertificateData
) -> list[object]:
    if s is None:
        return [escape(step), "not recorded", "—", "—", "—"]
    return [
        escape(step),
        _bold(s.printed_name),
        escape(s.meaning_text),
        escape(local_time(s.signed_at, data)),
        signature_status(s),
    ]


def _pharmacy(data: InfusionCertificateData) -> Flowable:
    rows: list[list[object]] = [
        ["Step", "Printed name", "Meaning", "Signed at", "Status"],
        _signature_row("Dose verification", data.dose_verification, data),
        _signature_row("Second verification", data.second_verification, data),
    ]
    return KeepTogether(
        [
            para("Pharmacy verification", "h2"),
            table(rows, [w * mm for w in (30, 34, 52, 34, 30)]),
        ]
    )


def _bedside(data: InfusionCertificateData) -> Flowable:
    b = data.bedside_check
    pairs = [
        ("Identifiers confirmed", escape(", ".join(b.identifiers_confirmed))),
        ("Kit code confirmed", _bold(b.kit_code)),
        ("Checked by", escape(b.checked_by)),
        ("Checked at", escape(local_time(b.checked_at, data))),
    ]
    return KeepTogether(
        [para("Bedside identity check", "h2"), fields(pairs, [LABEL_WIDTH, WIDTH - LABEL_WIDTH])]
    )


def _reactions(data: InfusionCertificateData) -> str:
    if not data.reactions and data.reaction_grade is None:
        return "none recorded"
    grade = f" (grade {data.reaction_grade})" if data.reaction_grade is not None else ""
    return f"{data.reactions or 'not described'}{grade}"


def _infusion(data: InfusionCertificateData) -> Flowable:
    pairs = [
        ("Started at", escape(local_time(data.infusion_started_at, data, empty="not recorded"))),
        ("Ended at", escape(local_time(data.infusion_ended_at, data, empty="not recorded"))),
        ("Administered by", escape(data.administered_by or "not recorded")),
        ("Reactions", escape(_reactions(data))),
    ]
    rows: list[list[object]] = [
        ["Step", "Printed name", "Meaning", "Signed at", "Status"],
        _signature_row("Administration", data.administration, data),
    ]
    return KeepTogether(
        [
            para("Infusion", "h2"),
            fields(pairs, [LABEL_WIDTH, WIDTH - LABEL_WIDTH]),
            Spacer(1, 2 * mm),
            table(rows, [w * mm for w in (30, 34, 52, 34, 30)]),
        ]
    )


def _certified(data: InfusionCertificateData) -> Flowable:
    return KeepTogether(
        [
            para("Certified content", "h2"),
            fields(
                [
                    ("Document ID", escape(data.document_id)),
                    ("SHA-256", f'<font size="7">{data.content_sha256}</font>'),
                ],
                [LABEL_WIDTH, WIDTH - LABEL_WIDTH],
            ),
            Spacer(1, 1.5 * mm),
            para(
                "The PDF carries the facility's electronic signature (PAdES). The command "
                "“lottrack certificate verify FILE” confirms that a file is the one issued, "
                "unchanged.",
                "small",
            ),
        ]
    )


def render_infusion(data: InfusionCertificateData, *, copy: bool = False) -> bytes:
    """The infusion certificate as PDF bytes; ``copy`` marks a reprint COPY."""
    story: list[Flowable] = [
        para(TITLE, "title"),
        para("Administration record of a blinded investigational product.", "subtitle"),
        _identification(data),
        Spacer(1, 4 * mm),
        banner(data.autologous_statement, WIDTH),
        KeepTogether([para("Product release", "h2"), para(data.release_reference)]),
        _pharmacy(data),
        _bedside(data),
        _infusion(data),
        _certified(data),
    ]
    return build_a4_pdf(
        story,
        data,
        TITLE,
        copy=copy,
        subject=f"Infusion certificate, subject {data.subject_code}, kit {data.kit_code}",
    )
