"""Pharmacy (unblinded): prepare the bag of one visit and sign ``dose-verified``.

The screen shows the visit's arm, the subject's current weight, the bags to choose from
(the subject's available MSC bags, or the released suspension-media lots for a placebo),
and the six §8 checks as they stand for the highlighted choice (a dry run of the service's
own checks). Signing asks for the signature; the dispensing service runs every check
again and refuses with their numbers when one fails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static
from typing_extensions import override

from lottrack.kernel.units import Dim, format_number, format_quantity
from lottrack.manufacturing import formulation
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.storage.db import Database
from lottrack.trial import dispensing, listings
from lottrack.trial.dispensing import CheckOutcome, DispensingResult, PlaceboPreparation
from lottrack.trial.listings import DispensingPreview, PharmacyVisit
from lottrack.views.documents.issue import IssuedDocument
from tui.common.trial_screen import (
    REFRESH_AND_BACK,
    TrialScreen,
    Write,
    weight_line,
    when,
    zone_name,
)
from tui.dialogs.moment import MomentModal
from tui.dialogs.reason import ReasonModal
from tui.pharmacy.checks import CheckList
from tui.pharmacy.choice import Choice, PreviewReady, choices_of, dose_lines, preview_of
from tui.pharmacy.documents import issue_label, label_path, label_printer
from tui.widgets.key_footer import KeyFooter
from tui.widgets.record_table import RecordTable
from tui.widgets.session_header import SessionHeader
from tui.workers import post_if_current


@dataclass
class VisitLoaded(Message):
    """The visit as the pharmacy sees it, and the checks stored when it was dispensed."""

    visit: PharmacyVisit
    stored: tuple[CheckOutcome, ...]
    preview: PreviewReady | None = None
    """The checks of the choice highlighted once the visit shows, read with it (#18)."""


class PharmacyVisitScreen(TrialScreen):
    """One visit at the pharmacy: arm, weight, bag, checks, dose, signature."""

    HELP = """\
# Dispense a visit (unblinded)

This screen shows the **arm** of the visit: never show it to ward staff.

* **↑/↓** choose the bag: the subject's available MSC bags (kit code, DIN, volume,
  viable cells, expiry, thaw), or for a placebo the released suspension-media lot.
* The six checks of the pharmacy (identity, release, expiry and thaw, current weight,
  dose window, arm) turn **green** or **red** for the highlighted choice. The dose line
  gives the volume range that would put the dose inside the window.
* **w** records a weight when the current one is missing or too old.
* **t** records the thaw of a cryopreserved bag (it must then be used within the limit).
* **s** signs *dose-verified*: the service runs every check again and stores the
  dispensing with each outcome; a failing check is refused with its number.
* After dispensing, **p** prints the bag label (a signed PDF); **z** writes it as ZPL
  for a thermal printer, and sends it to ``$LOTTRACK_LABEL_PRINTER`` when set. Another
  pharmacist then verifies the dispensing from the home screen (**v**).
"""

    BINDINGS = [
        Binding("s", "sign", "Sign dose"),
        Binding("w", "weight", "Weight"),
        Binding("t", "thaw", "Thaw"),
        Binding("p", "print_label", "Print label"),
        Binding("z", "print_label('zpl')", "ZPL label"),
        *REFRESH_AND_BACK,
    ]

    def __init__(self, visit_id: int) -> None:
        super().__init__()
        self.visit_id = visit_id
        self.visit: PharmacyVisit | None = None
        self.choices: list[Choice] = []
        self.preview: DispensingPreview | None = None
        self.previewed: Choice | None = None

    def compose(self) -> ComposeResult:
        """Header, the visit, the choice, the checks, the dose, the status line; the read
        of the visit starts first."""
        # Read while the widgets are mounted (#18), shown once mounted; nothing chosen yet.
        self._load(self.ctx.db, self.who, self.visit_id, None)
        yield SessionHeader()
        with VerticalScroll(id="pv-body", classes="trial-body"):
            yield Static("Loading the visit…", id="pv-title", classes="pane-title")
            yield Static("", id="pv-arm")
            yield Static("", id="pv-weight")
            yield Static("", id="pv-choose", classes="trial-section")
            table: DataTable[Text] = RecordTable(id="pv-bags", cursor_type="row")
            yield table
            yield Static("Checks", classes="trial-section")
            yield CheckList(range(1, 7), id="pv-checks")
            yield Static("", id="pv-dose")
            yield Static("", id="pv-problems", classes="error")
            yield Static("", id="pv-docs")
        # Under the body, not in it: always in sight, however long the body grows.
        yield Static("", id="trial-status", classes="message")
        yield KeyFooter()

    # ------------------------------------------------------------------- what applies

    def choice(self) -> Choice | None:
        """The highlighted bag or suspension-media lot."""
        table: DataTable[Text] = self.query_one("#pv-bags", DataTable)
        if not self.choices or not table.display or table.cursor_row < 0:
            return None
        return self.choices[min(table.cursor_row, len(self.choices) - 1)]

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what applies to the visit and the highlighted choice."""
        v = self.visit
        planned = v is not None and v.status == "planned"
        if action == "sign":
            return planned and self.choice() is not None
        if action == "weight":
            return planned
        if action == "thaw":
            bag = self._bag(self.choice())
            return planned and bag is not None and bag.cryopreserved and bag.thawed_at is None
        if action == "print_label":
            return v is not None and v.dispensed is not None
        return True

    def _bag(self, choice: Choice | None) -> listings.BagOption | None:
        if self.visit is None or choice is None or choice[0] != "bag":
            return None
        return next((b for b in self.visit.bags if b.unit_id == choice[1]), None)

    # ------------------------------------------------------------------------ loading

    def action_reload(self) -> None:
        """Read the visit again."""
        self._load(self.ctx.db, self.who, self.visit_id, self.choice())

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, db: Database, who: CurrentUser, visit_id: int, keep: Choice | None) -> None:
        with db.reader() as session:  # the visit and its first preview: one read (#18)
            visit = listings.pharmacy_visit(session, who, visit_id)
            stored = (
                tuple(dispensing.checks_of(session, who, visit.dispensed.dispensing_id))
                if visit.dispensed
                else ()
            )
            shown = choices_of(visit)
            preview = (
                preview_of(session, who, visit_id, keep if keep in shown else shown[0])
                if shown and visit.status == "planned"
                else None
            )
        post_if_current(self, VisitLoaded(visit, stored, preview))

    @on(VisitLoaded)
    def _loaded(self, message: VisitLoaded) -> None:
        keep = self.choice()
        v = self.visit = message.visit
        tz = self.ctx.clock().tzinfo
        self.query_one("#pv-title", Static).update(
            Text(
                f"Dispense · {v.subject_code} (born {v.date_of_birth}) · period {v.period} · "
                f"planned {v.planned_date}"
            )
        )
        arm = {"msc": "MSC", "placebo": "PLACEBO"}.get(v.arm or "", "not allocated")
        self.query_one("#pv-arm", Static).update(
            Text.assemble(
                ("Arm: ", "bold"),
                (arm, "bold reverse"),
                "  unblinded information: never show this screen to ward staff",
            )
        )
        self._show_weight(v, tz)
        self._fill_table(v, tz, keep)
        if v.dispensed is not None:
            self._show_dispensed(v, message.stored, tz)
        else:
            self.query_one("#pv-docs", Static).update("")
            if message.preview is not None and message.preview.choice == self.choice():
                self._previewed(message.preview)
            else:
                self._request_preview()
        self.refresh_bindings()

    def _show_weight(self, v: PharmacyVisit, tz: dt.tzinfo | None) -> None:
        text, style = weight_line(v.weight, tz)
        line = self.query_one("#pv-weight", Static)
        line.update(Text(text))
        line.set_classes(style)

    def _fill_table(self, v: PharmacyVisit, tz: dt.tzinfo | None, keep: Choice | None) -> None:
        table: DataTable[Text] = self.query_one("#pv-bags", DataTable)
        choose = self.query_one("#pv-choose", Static)
        table.clear(columns=True)
        self.choices = []
        if v.dispensed is not None:
            table.display = False
            choose.update("")
            return
        if v.arm == "placebo":
            choose.update(
                "Prepare the placebo from a suspension-media lot (same volume as "
                "the MSC bag; a new kit code is issued):"
            )
            table.add_columns("Suspension media", "Lot", "Expiry")
            for m in v.media:
                table.add_row(Text(m.name), Text(m.lot_number), Text(str(m.expiry)))
        else:
            choose.update("Choose the bag (available MSC bags of this subject):")
            zone = zone_name(tz, self.ctx.clock())
            table.add_columns("Kit code", "DIN", "Volume", "Viable", f"Expires {zone}", "Thaw")
            for b in v.bags:
                table.add_row(
                    Text(b.kit_code),
                    Text(b.din),
                    Text(format_quantity(b.volume_ml, Dim.VOLUME)),
                    Text(format_number(b.viable_cells) if b.viable_cells else "—"),
                    Text(when(b.expires_at, tz, zone=False)),
                    Text("thawed" if b.thawed_at else ("frozen" if b.cryopreserved else "fresh")),
                )
        self.choices = choices_of(v)
        table.display = True
        if not self.choices:
            choose.update(
                "Nothing to choose: no available bag (MSC) or no released "
                "suspension-media lot (placebo)."
            )
            table.display = False
        elif keep in self.choices:
            table.move_cursor(row=self.choices.index(keep))
        if table.display and self.focused is None:
            table.focus()

    def _show_dispensed(
        self, v: PharmacyVisit, stored: tuple[CheckOutcome, ...], tz: dt.tzinfo | None
    ) -> None:
        d = v.dispensed
        assert d is not None
        self.query_one("#pv-choose", Static).update(
            Text(
                f"Dispensed: kit {d.kit_code} · DIN {d.din} · prepared by {d.prepared_by} "
                f"{when(d.prepared_at, tz)} · "
                + (
                    f"verified by {d.verified_by} {when(d.verified_at, tz)}"
                    if d.verified_by
                    else "awaiting second verification by another pharmacist"
                )
            )
        )
        self.query_one("#pv-checks", CheckList).show([c for c in stored if c.number <= 6][:6])
        dose = (
            f"Dose recorded: {format_quantity(d.dose_cells_per_kg, Dim.DOSE)}"
            if d.dose_cells_per_kg is not None
            else ""
        )
        self.query_one("#pv-dose", Static).update(dose)
        self.query_one("#pv-problems", Static).update("")
        self.query_one("#pv-docs", Static).update(
            Text(
                f"Bag label: p prints it to {label_path(d.kit_code, d.label_copies)} "
                "(z: ZPL for a thermal printer)\n"
                "Infusion certificate: printed on the ward once the infusion is complete."
            )
        )

    # ----------------------------------------------------------------------- preview

    @on(DataTable.RowHighlighted, "#pv-bags")
    def _highlighted(self) -> None:
        if self.previewed is None or self.previewed != self.choice():  # not read with the visit
            self._request_preview()
        self.refresh_bindings()

    def _request_preview(self) -> None:
        choice = self.choice()
        checks = self.query_one("#pv-checks", CheckList)
        self.preview = None
        self.previewed = None
        self.query_one("#pv-dose", Static).update("")
        self.query_one("#pv-problems", Static).update("")
        if choice is None or self.visit is None or self.visit.status != "planned":
            checks.pending()
            return
        checks.pending(" …")
        self._preview(self.ctx.db, self.who, self.visit_id, choice)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _preview(self, db: Database, who: CurrentUser, visit_id: int, choice: Choice) -> None:
        with db.reader() as session:
            ready = preview_of(session, who, visit_id, choice)
        post_if_current(self, ready)

    @on(PreviewReady)
    def _previewed(self, message: PreviewReady) -> None:
        if message.choice != self.choice():
            return  # the person has moved on
        problems = self.query_one("#pv-problems", Static)
        self.preview, self.previewed = message.preview, message.choice
        if message.preview is None:
            self.query_one("#pv-checks", CheckList).pending()
            problems.update(Text(message.error))
        else:
            self.query_one("#pv-checks", CheckList).show(message.preview.checks)
            self.query_one("#pv-dose", Static).update(Text(dose_lines(message.preview.dose)))
            failing = CheckList.failures(message.preview.checks)
            problems.update(
                Text(
                    failing + ("\nSigning is refused until every check passes." if failing else "")
                )
            )
        self.refresh_bindings()

    # ------------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Back to the visits due."""
        self.dismiss()

    def action_sign(self) -> None:
        """Sign ``dose-verified``: the service runs the checks again and stores them."""
        v, choice = self.visit, self.choice()
        if v is None or choice is None:
            return
        if self.preview is None or self.previewed != choice:
            self.status("The checks are still running; sign when they show.")
            return
        if not self.preview.ready:
            failing = ", ".join(str(c.number) for c in self.preview.checks if not c.passed)
            self.status(f"Cannot sign: check {failing} fails (see above).", error=True)
            return
        who, visit_id = self.who, self.visit_id
        bag = self._bag(choice)
        if bag is not None:
            text = (
                f"Dispense bag {bag.kit_code} (DIN {bag.din}) for {v.subject_code}, "
                f"period {v.period}"
            )
        else:
            lot = next(m for m in v.media if m.reagent_lot_id == choice[1])
            text = (
                f"Prepare a placebo bag from {lot.name} lot {lot.lot_number} for "
                f"{v.subject_code}, period {v.period}"
            )

        def make(creds: Credentials) -> Write:
            return lambda s: dispensing.prepare(
                s,
                who,
                creds,
                visit_id=visit_id,
                unit_id=choice[1] if choice[0] == "bag" else None,
                placebo=PlaceboPreparation(choice[1]) if choice[0] == "media" else None,
            )

        self.sign("dose-verified", text, make, self._dispensed)

    def _dispensed(self, result: DispensingResult) -> None:
        self.status(
            f"Dispensed: kit {result.kit_code}. Another pharmacist must now verify it "
            "(v on the home screen).",
            success=True,
        )
        self.action_reload()

    def action_weight(self) -> None:
        """Record a weight of the subject."""
        v = self.visit
        if v is not None:
            self.record_weight(v.subject_id, v.subject_code, self.action_reload)

    def action_thaw(self) -> None:
        """Record the thaw of the highlighted cryopreserved bag."""
        bag = self._bag(self.choice())
        if bag is None:
            return
        who, unit_id = self.who, bag.unit_id

        def typed(at: dt.datetime | None) -> None:
            if at is not None:
                self.write(
                    lambda s: formulation.record_thaw(s, who, unit_id, at),
                    lambda _: self._thawed(bag.kit_code),
                )

        self.app.push_screen(
            MomentModal(
                f"Thaw of bag {bag.kit_code}",
                "When was the bag thawed? It must be infused within the thaw limit.",
                "Thawed at",
                self.ctx.clock,
            ),
            typed,
        )

    def _thawed(self, kit_code: str) -> None:
        self.status(f"Thaw of bag {kit_code} recorded.", success=True)
        self.action_reload()

    def action_print_label(self, file_format: str = "pdf") -> None:
        """Print (issue) the label of the dispensed bag, as a PDF or as ZPL."""
        d = self.visit.dispensed if self.visit else None
        if d is None:
            return
        who, unit_id = self.who, d.unit_id
        out = label_path(d.kit_code, d.label_copies, file_format)
        printer = label_printer() if file_format == "zpl" else None

        def reasoned(reason: str | None) -> None:
            if reason is not None:
                self.write(
                    lambda s: issue_label(
                        s, who, unit_id, out, reason, file_format=file_format, printer=printer
                    ),
                    lambda issued: self._printed(issued, printer),
                )

        if d.label_copies == 0:
            reasoned("")
            return
        self.app.push_screen(
            ReasonModal(
                f"Reprint the label of {d.kit_code}",
                "The label was printed before; the reprint "
                "is marked COPY. Why is it printed again?",
                "Reprint",
            ),
            reasoned,
        )

    def _printed(self, issued: IssuedDocument, printer: str | None) -> None:
        copy = f" (COPY {issued.copy_number})" if issued.copy_number else ""
        sent = f" and sent to printer {printer}" if printer else ""
        self.status(
            f"Label {issued.document_id}{copy} written to {issued.path}{sent}.", success=True
        )
        self.action_reload()
