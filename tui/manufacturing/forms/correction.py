"""Correct a recorded passage or QC result: the form opens with the values as recorded;
saving asks why (the audit trail keeps old value, new value and the reason) and calls the
service's correction, which reads every changed value again as if typed (a QC result is
judged again). A correction of a released lot sends it back to awaiting release: its
release signature shows INVALIDATED.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Input, Static

from lottrack.kernel.units import Dim, format_quantity
from lottrack.manufacturing import expansion, lots, passage_table, qc
from lottrack.records.permissions import CurrentUser
from lottrack.views import listings
from tui.common.form import FormProblem, SaveCall, field_row, grid
from tui.dialogs.reason import ReasonModal
from tui.lot.form import LotForm
from tui.manufacturing.forms.qc_result import NUMERIC_KINDS
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField
from tui.widgets.status_badge import conformity_text

Correct = Callable[[Session, CurrentUser, str], str]
"""A correction's service call: session, person, reason → one-line summary."""


@dataclass(frozen=True)
class Reasoned:
    """A correction's service call, and the reason once the person has given it."""

    call: Correct
    reason: str = ""

    def __call__(self, session: Session, who: CurrentUser) -> str:
        """Run the correction with the reason (a :data:`SaveCall`)."""
        return self.call(session, who, self.reason)


def sent_back(session: Session, lot_id: int, was_released: bool) -> str:
    """What a correction's summary adds when it sent a released lot back to be released
    again (empty otherwise)."""
    status = lots.get_lot(session, lot_id).status
    if was_released and status not in lots.RELEASED_STATES:
        return f" The lot is back to {status}: its release signature is invalidated."
    return ""


class CorrectionForm(LotForm):
    """A lot form that changes a saved record: saving asks for the reason first."""

    SAVE_LABEL = "Correct"

    def __init__(self, lot_id: int) -> None:
        super().__init__(lot_id)
        self.recorded: dict[str, str] = {}
        """What each field showed when the form opened, by key (a change is a difference)."""

    def field_input(self, key: str) -> Input:
        """The box that holds ``key``'s value: the widget with that id, or the Input in it."""
        widget = self.query_one(f"#{key}")
        return widget if isinstance(widget, Input) else widget.query_one(Input)

    def changed(self) -> list[str]:
        """The keys whose box no longer holds what was recorded."""
        return [
            k
            for k, text in self.recorded.items()
            if self.field_input(k).value.strip() != text.strip()
        ]

    def reason_question(self) -> tuple[str, str]:
        """Title and question of the reason dialog."""
        return "Correct the record", "Why is it corrected?"

    def submit(self, call: SaveCall) -> None:
        """Ask why; then run the correction with that reason (no reason, nothing saved)."""
        assert isinstance(call, Reasoned)

        def reasoned(reason: str | None) -> None:
            if not reason:
                self._say("Nothing was saved: a correction needs a reason.", error=True)
                return
            super(CorrectionForm, self).submit(replace(call, reason=reason))

        title, question = self.reason_question()
        if self.lot.status in lots.RELEASED_STATES:
            question += (
                f" Lot {self.lot.lot_number} is {self.lot.status}: the correction "
                "sends it back to awaiting release and invalidates its release "
                "signature."
            )
        self.app.push_screen(ReasonModal(title, question, "Correct"), reasoned)


# Field id → (label in messages, keyword of expansion.correct_passage).
PASSAGE_FIELDS = {
    "seeded-at": ("seeded at", "seeded_at"),
    "cells-seeded": ("cells seeded", "cells_seeded_text"),
    "area": ("surface area", "area_text"),
    "vessels": ("vessels", "vessels"),
    "harvested-at": ("harvested at", "harvested_at"),
    "cells-harvested": ("cells harvested", "cells_harvested_text"),
    "viability": ("viability", "viability_text"),
}
HARVEST_FIELDS = ("harvested-at", "cells-harvested", "viability")
TIME_TYPED = "%Y-%m-%d %H:%M"


class PassageCorrectionForm(CorrectionForm):
    """The seeding and harvest values of one passage, as recorded, to correct."""

    FORM_TITLE = "Correct a passage"
    HELP = """\
# Correct a passage

The form shows the passage as recorded. Change only what is wrong; **ctrl+s** asks why
(the reason goes into the audit trail beside the old and the new value) and saves.

Every changed value is read again as if typed (units, decimal separator, times in the
site's zone), and the order still has to hold: seeded after the previous harvest,
harvested after seeding and before the next passage was seeded. A refused value is
marked on its field and nothing is stored.

Population doublings, cumulative PD and doubling time follow from the corrected values.
A correction of a **released** lot sends it back to **awaiting release**: the release
signature shows INVALIDATED until QA decides again.
"""

    def __init__(self, lot_id: int, passage_id: int) -> None:
        super().__init__(lot_id)
        self.passage_id = passage_id

    def compose_fields(self) -> ComposeResult:
        """Seeding, then harvest (shown once the passage was harvested)."""
        clock = self.ctx.clock
        with grid():
            yield from field_row("Passage", Static("", id="passage"))
            yield from field_row("Seeded at", MomentField("Seeded at", clock, id="seeded-at"))
            yield from field_row(
                "Cells seeded", QuantityField("Cells seeded", Dim.CELLS, id="cells-seeded")
            )
            yield from field_row("Surface area", QuantityField("Surface area", Dim.AREA, id="area"))
            yield from field_row("Vessels", Input(compact=True, name="Vessels", id="vessels"))
            yield from field_row(
                "Harvested at", MomentField("Harvested at", clock, id="harvested-at")
            )
            yield from field_row(
                "Cells harvested", QuantityField("Cells harvested", Dim.CELLS, id="cells-harvested")
            )
            yield from field_row(
                "Viability", QuantityField("Viability", Dim.FRACTION, id="viability")
            )

    def load(self, session: Session, who: CurrentUser) -> Any:
        """The lot and the passage as recorded."""
        rows = passage_table.passage_table
        return self.load_record(session, who, rows, self.passage_id, "passage")

    @property
    def passage(self) -> passage_table.PassageRow:
        """The passage as it was recorded when the form opened."""
        return self.loaded_record(passage_table.PassageRow)

    def apply(self, data: Any) -> None:
        """Fill every field with the recorded value."""
        super().apply(data)
        p, zone, sep = self.passage, self.lot.timezone, self.lot.decimal_separator

        def typed(moment: dt.datetime | None) -> str:
            return moment.astimezone(zone).strftime(TIME_TYPED) if moment else ""

        viability = (
            ""
            if p.viability_pct is None
            else format_quantity(p.viability_pct, Dim.FRACTION, decimal_separator=sep, sig=4)
        )
        self.recorded = {
            "seeded-at": typed(p.seeded_at),
            "cells-seeded": p.cells_seeded_text,
            "area": p.area_text,
            "vessels": p.vessels,
            "harvested-at": typed(p.harvested_at),
            "cells-harvested": p.cells_harvested_text,
            "viability": viability,
        }
        for widget_id, text in self.recorded.items():
            self.field_input(widget_id).value = text
        harvested = p.harvested_at is not None
        for widget_id in HARVEST_FIELDS:
            self.show_field(widget_id, harvested)
        self.query_one("#passage", Static).update(
            Text(f"{p.label}{'' if harvested else ' (not harvested yet)'}", style="bold")
        )

    def context_line(self) -> str:
        """Lot and passage."""
        return f"{super().context_line()} · correcting {self.passage.label}"

    def reason_question(self) -> tuple[str, str]:
        """Name the passage and what changes."""
        changed = ", ".join(PASSAGE_FIELDS[w][0] for w in self.changed())
        return (
            f"Correct {self.passage.label} of lot {self.lot.lot_number}",
            f"Changed: {changed}. The audit trail keeps the recorded and the corrected "
            "value with your reason. Why is it corrected?",
        )

    def collect(self) -> SaveCall:
        """expansion.correct_passage with the changed values only."""
        changed = self.changed()
        label = self.passage.label
        if not changed:
            raise FormProblem(
                f"Correction: no value of {label} was changed; change the "
                "value that is wrong (Escape leaves without saving).",
                "Correction",
            )
        values: dict[str, Any] = {}
        for widget_id in changed:
            widget = self.query_one(f"#{widget_id}")
            keyword = PASSAGE_FIELDS[widget_id][1]
            values[keyword] = (
                widget.value()
                if isinstance(widget, MomentField)
                else self.field_input(widget_id).value
            )
        names = ", ".join(PASSAGE_FIELDS[w][0] for w in changed)
        passage_id, lot_id, lot_number = self.passage_id, self.lot_id, self.lot.lot_number
        was_released = self.lot.status in lots.RELEASED_STATES

        def correct(session: Session, who: CurrentUser, reason: str) -> str:
            expansion.correct_passage(session, who, passage_id, reason=reason, **values)
            return f"{label} of lot {lot_number} corrected ({names})." + sent_back(
                session, lot_id, was_released
            )

        return Reasoned(correct)


# Field id → label in messages (a QC result's typed values).
RESULT_FIELDS = {"value": "result", "method": "method", "tested-at": "tested at"}


class QCCorrectionForm(CorrectionForm):
    """One recorded QC result (value, method, time tested), as recorded, to correct."""

    FORM_TITLE = "Correct a QC result"
    HELP = """\
# Correct a QC result

The form shows the result as recorded. Change only what is wrong; **ctrl+s** asks why
(the reason goes into the audit trail beside the old and the new value) and saves.

A changed result is read and judged again exactly as when it is recorded (units, the
site's decimal separator; endotoxin against the limit from the subject's current weight
and the bag volume): whether it conforms is computed, never typed. A refused value is
marked on its field and nothing is stored.

A retest stays a retest, and retests of this result stay beside it. A correction of a
**released** lot sends it back to **awaiting release**: the release signature shows
INVALIDATED until QA decides again. A result that should not count at all (wrong sample,
wrong lot) is voided with **x** on the QC tab instead.
"""

    def __init__(self, lot_id: int, result_id: int) -> None:
        super().__init__(lot_id)
        self.result_id = result_id

    def compose_fields(self) -> ComposeResult:
        """The test and its limit, then the value box for its kind, method and time."""
        with grid():
            yield from field_row("Test", Static("", id="test"))
            yield from field_row("Limit", Static("", id="limit"))
            yield from field_row(
                "Result", QuantityField("Result", Dim.FRACTION, allow_zero=True, id="value-num")
            )
            yield from field_row("Result ", Input(compact=True, id="value-text"))
            yield from field_row("Method", Input(compact=True, name="Method", id="method"))
            yield from field_row(
                "Tested at", MomentField("Tested at", self.ctx.clock, id="tested-at")
            )

    def load(self, session: Session, who: CurrentUser) -> Any:
        """The lot and the result as recorded."""

        def rows(session: Session, _who: CurrentUser, lot_id: int) -> list[qc.QCRow]:
            return qc.results(session, lot_id, include_voided=True)

        return self.load_record(session, who, rows, self.result_id, "QC result")

    @property
    def result(self) -> qc.QCRow:
        """The result as it was recorded when the form opened."""
        return self.loaded_record(qc.QCRow)

    @property
    def test(self) -> listings.QCTest:
        """The specification item of the result (kind, dimension, current limit)."""
        return next(t for t in self.lot.qc_tests if t.code == self.result.code)

    @property
    def numeric(self) -> bool:
        """Whether the result is a quantity (else an observed outcome or a report)."""
        return self.test.kind in NUMERIC_KINDS

    def apply(self, data: Any) -> None:
        """Fill every field with the recorded value; offer the value box of the test."""
        super().apply(data)
        r, test = self.result, self.test
        if self.numeric:
            self.query_one("#value-num", QuantityField).configure(
                test.test_name, Dim[test.dimension]
            )
        self.show_field("value-num", self.numeric)
        self.show_field("value-text", not self.numeric)
        self.recorded = {
            "value": r.value_text,
            "method": r.method,
            "tested-at": r.tested_at.astimezone(self.lot.timezone).strftime(TIME_TYPED),
        }
        for key, text in self.recorded.items():
            self.field_input(key).value = text
        title = Text(test.test_name, style="bold")
        if r.retest_of_id:
            title.append(f"  retest of #{r.retest_of_id}", style="dim")
        self.query_one("#test", Static).update(title)
        limit = Text(test.limit_text, style="bold")
        limit.append("   as recorded: ")
        limit.append_text(conformity_text(r.conforms, superseded=r.superseded))
        self.query_one("#limit", Static).update(limit)

    def context_line(self) -> str:
        """Lot and result."""
        return f"{super().context_line()} · correcting result #{self.result_id}"

    def reason_question(self) -> tuple[str, str]:
        """Name the result and what changes."""
        changed = ", ".join(RESULT_FIELDS[k] for k in self.changed())
        return (
            f"Correct the {self.test.test_name} result of lot {self.lot.lot_number}",
            f"Changed: {changed}. The audit trail keeps the recorded and the corrected "
            "value with your reason. Why is it corrected?",
        )

    def field_widget(self, field: str | None) -> Widget | None:
        """The service names a refused value by its test: the value box."""
        if field == self.test.test_name:
            return self.query_one("#value-num" if self.numeric else "#value-text")
        return super().field_widget(field)

    def field_input(self, key: str) -> Input:
        """The result's value is in the box of its kind (a quantity, or text)."""
        if key == "value":
            key = "value-num" if self.numeric else "value-text"
        return super().field_input(key)

    def collect(self) -> SaveCall:
        """qc.correct_result with the value, and the method and time when changed."""
        changed = self.changed()
        name = self.test.test_name
        if not changed:
            raise FormProblem(
                f"Correction: no value of the {name} result was changed; "
                "change the value that is wrong (Escape leaves without "
                "saving).",
                "Correction",
            )
        value = self.field_input("value").value
        if not value.strip():
            raise FormProblem(f"{name}: type the result.", name)
        method = self.field_input("method").value if "method" in changed else None
        tested = (
            self.query_one("#tested-at", MomentField).value() if "tested-at" in changed else None
        )
        result_id, lot_id, lot_number = self.result_id, self.lot_id, self.lot.lot_number
        was_released = self.lot.status in lots.RELEASED_STATES

        def correct(session: Session, who: CurrentUser, reason: str) -> str:
            row = qc.correct_result(
                session,
                who,
                result_id,
                value_text=value,
                reason=reason,
                method=method,
                tested_at=tested,
            )
            verdict = {True: "conforms", False: "OUT OF SPECIFICATION", None: "report only"}[
                row.conforms
            ]
            return (
                f"{name} result of lot {lot_number} corrected: {row.value_text}, {verdict}."
                + sent_back(session, lot_id, was_released)
            )

        return Reasoned(correct)
