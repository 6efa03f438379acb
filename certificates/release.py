"""Lot release certificate (design §9; unblinded, per lot)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from certificates.common import (
    ALERT,
    FONT_BOLD,
    fields,
    fixed,
    identification,
    local_time,
    local_time_cell,
    number,
    para,
    quantity,
    signature_status,
    table,
)
from certificates.furniture import build_a4_pdf
from certificates.growth_curve import growth_curve
from lottrack.kernel.units import Dim, format_quantity_range
from lottrack.views.documents.data import QCLine, ReleaseCertificateData

WIDTH = A4[0] - 30 * mm
TITLE = "LOT RELEASE CERTIFICATE"
EXCEPTIONAL_TITLE = "LOT RELEASE CERTIFICATE — EXCEPTIONAL RELEASE"


def _title(data: ReleaseCertificateData) -> list[Flowable]:
    if data.disposition.exceptional:
        return [
            para(
                f'<font color="{ALERT.hexval()}">{EXCEPTIONAL_TITLE}</font>', "title", markup=True
            ),
            para(
                "Released out of specification under EU GMP Part IV §11.5 at the request "
                "of the treating physician; the four records required are printed below.",
                "subtitle",
            ),
        ]
    return [
        para(TITLE, "title"),
        para(
            "Autologous cell-therapy product: batch record summary, quality control "
            "against specification, and QA disposition.",
            "subtitle",
        ),
    ]


def _identification(data: ReleaseCertificateData) -> Flowable:
    d = data.disposition
    decision = escape(d.decision.upper())
    if d.exceptional:
        decision = f'<font name="{FONT_BOLD}" color="{ALERT.hexval()}">{decision}</font>'
    else:
        decision = f'<font name="{FONT_BOLD}">{decision}</font>'
    pairs = [
        ("Product", escape(data.product_name)),
        ("Lot number", f'<font name="{FONT_BOLD}">{escape(data.lot_number)}</font>'),
        ("Subject code", f'<font name="{FONT_BOLD}">{escape(data.subject_code)}</font>'),
        ("Chain of identity", escape(data.coi_id)),
        ("DIN (collection)", escape(f"{data.din.eye_readable} {data.din.check}")),
        (
            "Specification",
            escape(f"version {data.specification_version} — {data.specification_name}"),
        ),
        ("Disposition", f"{decision}, {escape(local_time(d.decided_at, data))}"),
    ]
    return identification(fields(pairs, [32 * mm, 88 * mm]), data, data.din, WIDTH)


def _expansion(data: ReleaseCertificateData) -> list[Flowable]:
    h = data.harvest
    intro = para(
        f"Bone-marrow harvest collected {local_time(h.collected_at, data)}; "
        f"{quantity(h.volume_ml, Dim.VOLUME, data)} aspirated."
    )
    rows: list[list[object]] = [
        [
            "Passage",
            "Seeded",
            "Harvested",
            "Cells seeded",
            "Cells harvested",
            "Seeding density (cells/cm²)",
            "PD",
            "Cumulative PD",
            "Doubling time (h)",
        ]
    ]
    for p in data.passages:
        rows.append(
            [
                f"P{p.number}",
                local_time_cell(p.seeded_at, data),
                local_time_cell(p.harvested_at, data),
                escape(number(p.cells_seeded, data)),
                escape(number(p.cells_harvested, data)),
                escape(number(p.seeding_density_per_cm2, data)),
                fixed(p.population_doublings, data),
                fixed(p.cumulative_population_doublings, data),
                fixed(p.doubling_time_hours, data, places=1),
            ]
        )
    widths = [15, 22, 22, 20, 21, 24, 13, 21, 22]
    passages = (
        table(rows, [w * mm for w in widths]) if data.passages else para("No passage is recorded.")
    )
    out: list[Flowable] = [
        KeepTogether([para("Harvest and expansion", "h2"), intro, Spacer(1, 2 * mm), passages])
    ]
    if data.growth_curve:
        out.append(
            KeepTogether(
                [
                    para("Growth curve", "h2"),
                    growth_curve(
                        data.growth_curve,
                        width=120 * mm,
                        height=52 * mm,
                        decimal_separator=data.decimal_separator,
                    ),
                ]
            )
        )
    return out


def _conformity(line: QCLine) -> str:
    if line.conforms is None:
        return "report only"
    if line.conforms:
        return "Yes"
    return f'<font name="{FONT_BOLD}" color="{ALERT.hexval()}">NO</font>'


def _note(line: QCLine) -> str:
    notes = []
    if line.is_retest:
        notes.append("Retest")
    if line.superseded:
        notes.append("Superseded (retest)")
    if line.investigation_note:
        notes.append(escape(line.investigation_note))
    return "; ".join(notes)


def _quality_records(data: ReleaseCertificateData) -> list[Flowable]:
    """Every OOS investigation and deviation with its conclusion (design §6.6, §6.7)."""
    heading = para("Investigations and deviations", "h2")
    if not data.quality_records:
        return [
            KeepTogether(
                [
                    heading,
                    para(
                        "None: no out-of-specification investigation and no deviation is "
                        "recorded for this lot."
                    ),
                ]
            )
        ]
    out: list[Flowable] = []
    for i, q in enumerate(data.quality_records):
        lead = para(
            f'<font name="{FONT_BOLD}">{escape(f"{q.kind} {q.reference}")}</font>: '
            f"{escape(q.what)}",
            markup=True,
        )
        # Free texts can be long: paragraphs flow over a page break where a table row
        # could not; the heading stays with the first record.
        out += [
            KeepTogether([heading, lead]) if i == 0 else lead,
            para(f"Conclusion: {q.outcome}"),
            Spacer(1, 1.5 * mm),
        ]
    return out


def _qc(data: ReleaseCertificateData) -> Flowable:
    rows: list[list[object]] = [
        ["Test", "Result (as entered)", "Limit", "Conforms", "Tested", "Note"]
    ]
    for q in data.qc_results:
        rows.append(
            [
                escape(q.test),
                escape(q.value_text),
                escape(q.limit_text or "—"),
                _conformity(q),
                escape(local_time(q.tested_at, data)),
                _note(q),
            ]
        )
    body = (
        table(rows, [w * mm for w in (44, 27, 22, 17, 37, 33)])
        if data.qc_results
        else para("No QC result is recorded.")
    )
    return KeepTogether([para("Quality control against specification", "h2"), body])


def _bags(data: ReleaseCertificateData) -> Flowable:
    sep = data.decimal_separator
    window = format_quantity_range(
        data.dose_min_cells_per_kg, data.dose_max_cells_per_kg, Dim.DOSE, decimal_separator=sep
    )
    rows: list[list[object]] = [
        ["Kit code", "Volume", "Viable cells", f"Body weight dosed inside {window}", "Status"]
    ]
    for b in data.bags:
        weights = (
            "—"
            if b.weight_min_kg is None or b.weight_max_kg is None
            else format_quantity_range(
                b.weight_min_kg, b.weight_max_kg, Dim.MASS, decimal_separator=sep, inward=True
            )
        )
        rows.append(
            [
                f'<font name="{FONT_BOLD}">{escape(b.kit_code)}</font>',
                escape(quantity(b.volume_ml, Dim.VOLUME, data)),
                escape(quantity(b.viable_cells, Dim.CELLS, data)),
                escape(weights),
                escape(b.status),
            ]
        )
    body = (
        table(rows, [w * mm for w in (34, 24, 34, 60, 28)])
        if data.bags
        else para("No bag has been formulated from this lot.")
    )
    return KeepTogether([para("Bags formulated from the lot", "h2"), body])


SHORT_TEXT = 600
"""A free text up to this length is kept on one page with its heading; a longer one
starts where its heading is and flows over the page break (a table row cannot split)."""


def _headed(heading: list[Flowable], label: str, text: str) -> list[Flowable]:
    """``heading`` and a labelled free text, kept together while the text is short."""
    lead = [*heading, para(label, "label")]
    body = [para(text or "—"), Spacer(1, 2 * mm)]
    if len(text) <= SHORT_TEXT:
        return [KeepTogether([*lead, *body])]
    return [KeepTogether(lead), *body]


def _disposition(data: ReleaseCertificateData) -> list[Flowable]:
    d = data.disposition
    pairs = [
        ("Decision", f'<font name="{FONT_BOLD}">{escape(d.decision)}</font>'),
        ("Decided at", escape(local_time(d.decided_at, data))),
    ]
    out = _headed(
        [para("Disposition", "h2"), fields(pairs, [40 * mm, WIDTH - 40 * mm]), Spacer(1, 2 * mm)],
        "Justification",
        d.justification,
    )
    records = d.exceptional_records
    if records is not None:
        notified = [("Sponsor notified at", escape(local_time(records.sponsor_notified_at, data)))]
        out += _headed(
            [para("Exceptional release (EU GMP Part IV §11.5)", "h2")],
            "Treating physician's written request",
            records.physician_request,
        )
        out += _headed([], "Manufacturer's risk evaluation", records.risk_evaluation)
        out += _headed([], "Physician's recorded acceptance", records.physician_acceptance)
        out.append(fields(notified, [40 * mm, WIDTH - 40 * mm]))
    return out


def _changes(data: ReleaseCertificateData) -> Flowable:
    if not data.changed_after_first_entry:
        body: list[Flowable] = [
            para(
                "None: no release-relevant value was changed after it "
                "was first entered (audit trail)."
            )
        ]
    else:
        body = [
            para(
                f'<font name="{FONT_BOLD}">Yes</font>: the following release-relevant '
                "values were changed after they were first entered (audit trail).",
                markup=True,
            ),
            Spacer(1, 1 * mm),
        ]
        body += [
            para(f"• {escape(line)}", "cell", markup=True)
            for line in data.changed_after_first_entry
        ]
    return KeepTogether([para("Values changed after first entry", "h2"), *body])


def _signatures(data: ReleaseCertificateData) -> Flowable:
    rows: list[list[object]] = [["Printed name", "Meaning", "Signed at", "Status"]]
    for s in data.signatures:
        rows.append(
            [
                f'<font name="{FONT_BOLD}">{escape(s.printed_name)}</font>',
                escape(f"{s.meaning}: {s.meaning_text}"),
                escape(local_time(s.signed_at, data)),
                signature_status(s),
            ]
        )
    body = (
        table(rows, [w * mm for w in (40, 64, 36, 40)])
        if data.signatures
        else para("No signature is recorded.")
    )
    return KeepTogether([para("Electronic signatures", "h2"), body])


def _certified(data: ReleaseCertificateData) -> Flowable:
    return KeepTogether(
        [
            para("Certified content", "h2"),
            fields(
                [
                    ("Document ID", escape(data.document_id)),
                    ("SHA-256", f'<font size="7">{data.content_sha256}</font>'),
                ],
                [40 * mm, WIDTH - 40 * mm],
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


def render_release(data: ReleaseCertificateData, *, copy: bool = False) -> bytes:
    """The lot release certificate as PDF bytes; ``copy`` marks a reprint COPY."""
    title = EXCEPTIONAL_TITLE if data.disposition.exceptional else TITLE
    story: list[Flowable] = [
        *_title(data),
        _identification(data),
        *_expansion(data),
        _qc(data),
        *_quality_records(data),
        _bags(data),
        *_disposition(data),
        _changes(data),
        _signatures(data),
        _certified(data),
    ]
    return build_a4_pdf(
        story, data, title, copy=copy, subject=f"Lot release certificate, lot {data.lot_number}"
    )
