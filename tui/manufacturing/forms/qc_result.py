"""Record a QC result of a lot against its specification; conformity is computed by the
service, never typed. A retest keeps the first result beside it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Input, Select, Static

from lottrack.kernel.units import Dim
from lottrack.manufacturing import qc, specifications
from lottrack.records.permissions import CurrentUser
from lottrack.views.listings import QCTest
from tui.common.form import FormProblem, SaveCall, field_row, grid
from tui.lot.form import LotForm
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField
from tui.widgets.status_badge import conformity_text

NUMERIC_KINDS = (specifications.NUMERIC, specifications.ENDOTOXIN)


class QCResultForm(LotForm):
    """Test, result, method, tested at, and whether it is a retest."""

    FORM_TITLE = "Record a QC result"
    HELP = """\
# Record a QC result

Pick the test; its limit and the latest result (if any) are shown. Type the result as
read: a percentage (`99.1 %`), an endotoxin concentration (`0.25 EU/mL`) or the observed
outcome (`no growth`, `not detected`). Whether it conforms is computed from the lot's
specification when saved; you never type it.

An out-of-specification result opens an **investigation** at once. While it is open, a
new result of that test is a **retest** against the investigation and needs a reason;
the original stays in the batch record beside it, and QA's conclusion decides which
counts. **ctrl+s** saves.
"""

    def compose_fields(self) -> ComposeResult:
        """The fields; the value box follows the kind of test."""
        with grid():
            yield from field_row(
                "Test",
                Select[str]([], prompt="Pick the test", name="test", id="test", compact=True),
            )
            yield from field_row("Limit", Static("", id="limit"))
            yield from field_row(
                "Result", QuantityField("Result", Dim.FRACTION, allow_zero=True, id="value-num")
            )
            yield from field_row(
                "Result ", Input(placeholder="e.g. no growth", compact=True, id="value-text")
            )
            yield from field_row(
                "Method", Input("per SOP", compact=True, name="method", id="method")
            )
            yield from field_row(
                "Tested at", MomentField("Tested at", self.ctx.clock, id="tested-at")
            )
            yield from field_row(
                "Retest reason",
                Input(
                    placeholder="why the test is repeated (open investigation)",
                    compact=True,
                    name="retest_reason",
                    id="retest-reason",
                ),
            )

    def apply(self, data: Any) -> None:
        """Offer the lot's tests, required ones first marked."""
        super().apply(data)
        marks = {True: "  ✓", False: "  ✗ out of spec", None: "  (reported)"}
        options = [
            (
                f"{t.test_name}{'' if t.required else ' (not required)'}"
                f"{marks[t.latest_conforms] if t.latest_id else ''}",
                t.code,
            )
            for t in self.lot.qc_tests
        ]
        self.query_one("#test", Select).set_options(options)
        self._test_changed()

    def test(self) -> QCTest | None:
        """The chosen test."""
        code = self.query_one("#test", Select).value
        return next((t for t in self.lot.qc_tests if t.code == code), None)

    @on(Select.Changed, "#test")
    def _test_changed(self) -> None:
        if self.data is None:
            return
        test = self.test()
        numeric = test is not None and test.kind in NUMERIC_KINDS
        self.show_field("value-num", numeric)
        self.show_field("value-text", test is not None and not numeric)
        self.show_field("retest-reason", test is not None and test.open_investigation is not None)
        limit = self.query_one("#limit", Static)
        if test is None:
            limit.update("")
            return
        text = Text(test.limit_text, style="bold")
        if test.latest_id is not None:
            text.append(f"   latest: {test.latest_value} ")
            text.append_text(conformity_text(test.latest_conforms))
        if test.open_investigation is not None:
            text.append(
                f"\nInvestigation #{test.open_investigation} is open: this result is "
                "a retest against it.",
                style="bold yellow",
            )
        limit.update(text)
        if numeric:
            self.query_one("#value-num", QuantityField).configure(
                test.test_name, Dim[test.dimension]
            )

    def field_widget(self, field: str | None) -> Widget | None:
        """The service names a refused result by its test: the result box."""
        test = self.test()
        if test is not None and field == test.test_name and test.kind not in NUMERIC_KINDS:
            return self.query_one("#value-text", Input)
        return super().field_widget(field)

    def collect(self) -> SaveCall:
        """qc.record_result with what was typed."""
        test = self.test()
        if test is None:
            raise FormProblem("Test: pick the test this result is for.", "test")
        value = (
            self.query_one("#value-num", QuantityField).text
            if test.kind in NUMERIC_KINDS
            else self.query_one("#value-text", Input).value
        )
        if not value.strip():
            raise FormProblem(f"{test.test_name}: type the result.", test.test_name)
        method = self.query_one("#method", Input).value
        tested = self.query_one("#tested-at", MomentField).moment()
        reason = self.query_one("#retest-reason", Input).value
        investigation = test.open_investigation
        lot_id, lot_number = self.lot_id, self.lot.lot_number

        def save(session: Session, who: CurrentUser) -> str:
            result_id = qc.record_result(
                session,
                who,
                lot_id=lot_id,
                test=test.code,
                value_text=value,
                tested_at=tested,
                method=method,
                investigation_id=investigation,
                reason=reason,
            )
            row = next(r for r in qc.results(session, lot_id) if r.id == result_id)
            verdict = {True: "conforms", False: "OUT OF SPECIFICATION", None: "report only"}[
                row.conforms
            ]
            return f"{test.test_name} {value} recorded for lot {lot_number}: {verdict}."

        return save
