"""Validation report (``lottrack validate``; GAMP 5, Annex 11 §4): a summary page, the
machine and versions, the traceability matrix, then each requirement with its checks —
expected, observed, pass/fail. Drawn from a frozen
:class:`~lottrack.views.documents.validation_data.ValidationReportData`."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer

from certificates.common import (
    ALERT,
    FONT_BOLD,
    fields,
    local_time,
    para,
    table,
)
from certificates.furniture import build_a4_pdf
from lottrack.views.documents.validation_data import CheckLine, ValidationReportData

WIDTH = A4[0] - 30 * mm
TITLE = "VALIDATION REPORT (IQ/OQ)"


def _verdict(passed: bool) -> str:
    if passed:
        return f'<font name="{FONT_BOLD}">PASS</font>'
    return f'<font name="{FONT_BOLD}" color="{ALERT.hexval()}">FAIL</font>'


def _summary(data: ValidationReportData) -> list[Flowable]:
    failed = [c for c in data.checks if not c.passed]
    passed = len(data.checks) - len(failed)
    outcome = (
        "Every check passed; every requirement is proved by at least one check."
        if data.passed
        else f"NOT VALIDATED: {len(failed)} check(s) failed"
        + (f"; {len(data.problems)} traceability fault(s)" if data.problems else "")
        + "."
    )
    story: list[Flowable] = [
        para(TITLE, "title"),
        para(
            f"lottrack {escape(data.program_version)} — installation and operational qualification",
            "subtitle",
        ),
        para(f"{_verdict(data.passed)}  {escape(outcome)}", "h2", markup=True),
        fields(
            [
                ("Run by", escape(data.run_by)),
                ("Started", escape(local_time(data.started_at, data))),
                ("Finished", escape(local_time(data.finished_at, data))),
                ("Checks", f"{len(data.checks)} run, {passed} passed, {len(failed)} failed"),
                (
                    "Requirements",
                    f"{len(data.requirements)}, {sum(r.passed for r in data.requirements)} proved",
                ),
            ],
            [35 * mm, WIDTH - 35 * mm],
        ),
    ]
    if failed or data.problems:
        story += [
            para("What failed", "h2"),
            *[
                para(
                    f"{escape(c.id)} ({', '.join(c.requirements)}): {escape(c.title)}"
                    + (f" — {escape(c.error)}" if c.error else ""),
                    "body",
                )
                for c in failed
            ],
            *[para(escape(p), "body") for p in data.problems],
        ]
    story += [
        para("Machine", "h2"),
        fields([(k, escape(v)) for k, v in data.machine], [35 * mm, WIDTH - 35 * mm]),
        para("Versions", "h2"),
        table(
            [["Package", "Version"], *[[escape(k), escape(v)] for k, v in data.versions]],
            [60 * mm, WIDTH - 60 * mm],
        ),
    ]
    return story


def _matrix(data: ValidationReportData) -> list[Flowable]:
    rows = [["Requirement", "Design", "Checks", "Result"]]
    rows += [
        [
            f'<font name="{FONT_BOLD}">{escape(r.id)}</font> {escape(r.text)}',
            escape(r.section),
            escape(", ".join(r.checks) or "NONE"),
            _verdict(r.passed),
        ]
        for r in data.requirements
    ]
    return [
        PageBreak(),
        para("Traceability matrix", "h2"),
        table(rows, [WIDTH - 85 * mm, 15 * mm, 52 * mm, 18 * mm]),
    ]


def _check(check: CheckLine) -> Flowable:
    rows = [["Expected", "Observed", "Result"]]
    rows += [[escape(s.expected), escape(s.observed), _verdict(s.passed)] for s in check.steps]
    if check.error:
        rows.append(["the check runs to its end", escape(check.error), _verdict(False)])
    head = (
        f"{escape(check.id)} ({check.kind}) — {escape(check.title)}  "
        f'<font size="7">[{", ".join(check.requirements)}; {check.seconds:.2f} s]</font>'
    )
    return KeepTogether(
        [
            para(head, "body", markup=True),
            Spacer(1, 1 * mm),
            table(rows, [WIDTH * 0.38, WIDTH * 0.5, WIDTH * 0.12]),
            Spacer(1, 3 * mm),
        ]
    )


def _details(data: ValidationReportData) -> list[Flowable]:
    story: list[Flowable] = [PageBreak(), para("Requirements and their checks", "h2")]
    by_id = {c.id: c for c in data.checks}
    for r in data.requirements:
        story.append(
            para(
                f'{_verdict(r.passed)}  <font name="{FONT_BOLD}">{escape(r.id)}</font> '
                f"({escape(r.section)}) "
                f"{escape(r.text)}",
                "body",
                markup=True,
            )
        )
        story.append(Spacer(1, 1.5 * mm))
        story += [_check(by_id[c]) for c in r.checks if c in by_id]
    return story


def _certified(data: ValidationReportData) -> Flowable:
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
            para(
                "The PDF carries the facility's electronic signature (PAdES); "
                "“lottrack certificate verify FILE” confirms it is the report as issued. The raw "
                "results are in validation-results.json beside it.",
                "small",
            ),
        ]
    )


def render_validation_report(data: ValidationReportData, *, copy: bool = False) -> bytes:
    """The validation report as PDF bytes; ``copy`` marks a reprint COPY."""
    story = [*_summary(data), *_matrix(data), *_details(data), _certified(data)]
    return build_a4_pdf(
        story, data, TITLE, copy=copy, subject=f"Validation report, lottrack {data.program_version}"
    )
