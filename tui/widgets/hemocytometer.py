"""Hemocytometer calculator: live/dead cells over n squares at a dilution, per replicate,
with the concentration, viability and CV shown as the numbers are typed.

The arithmetic is :mod:`lottrack.kernel.calc` (the same the count service stores); the widget
only reads the boxes. A CV above the specification's limit is announced before saving:
the count is still stored, flagged for a recount, as the service does.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Static

from lottrack.kernel import calc
from lottrack.kernel.errors import ValidationError
from lottrack.kernel.units import Dim, format_number, format_quantity
from lottrack.manufacturing.counts import HemocytometerReplicate
from tui.widgets.replicates import ReplicateCounts

MAX_REPLICATES = 6
COLUMNS = (
    ("live", "Live", ""),
    ("dead", "Dead", ""),
    ("squares", "Sq.", "4"),
    ("dilution", "Dil.", "2"),
)


class ReplicateRow(Horizontal):
    """One replicate: four boxes and what they give."""

    def __init__(self, position: int) -> None:
        super().__init__(classes="rep-row")
        self.position = position

    def compose(self) -> ComposeResult:
        """Number, live, dead, squares, dilution, result."""
        yield Static(f"{self.position}", classes="rep-n")
        for key, label, default in COLUMNS:
            yield Input(
                default,
                placeholder=label.lower().rstrip("."),
                compact=True,
                classes=f"rep-box rep-{key}",
                name=f"Replicate {self.position} {key}",
            )
        yield Static("", classes="rep-result")

    def boxes(self) -> dict[str, str]:
        """The text of each box by key."""
        return {key: self.query_one(f".rep-{key}", Input).value.strip() for key, *_ in COLUMNS}

    def is_blank(self) -> bool:
        """Nothing counted in this row (squares and dilution keep their defaults)."""
        boxes = self.boxes()
        return not boxes["live"] and not boxes["dead"]


class HemocytometerCalculator(ReplicateCounts):
    """Replicate rows, a live summary, and :meth:`replicates` for the service."""

    DEFAULT_CSS = """
    HemocytometerCalculator { height: auto; }
    HemocytometerCalculator .rep-head { height: 1; color: $text-muted; }
    HemocytometerCalculator .rep-row { height: 1; }
    HemocytometerCalculator .rep-n { width: 3; }
    HemocytometerCalculator .rep-box { width: 7; margin-right: 1; }
    HemocytometerCalculator .rep-result { width: 1fr; color: $text-muted; }
    HemocytometerCalculator .rep-summary { height: auto; margin-top: 1; text-style: bold; }
    HemocytometerCalculator .rep-summary.-recount { color: $error; }
    HemocytometerCalculator .rep-error { height: auto; color: $error; text-style: bold; }
    HemocytometerCalculator #add-replicate { margin-top: 1; }
    """

    error: str | None = None
    """The first row that cannot be read, in a sentence (``None`` when all can)."""

    def compose(self) -> ComposeResult:
        """Column heads, the first rows, summary, an add button."""
        yield Static(
            "#  Live    Dead    Squares Dilution → viable cells/mL, viability", classes="rep-head"
        )
        for position in range(1, self.start + 1):
            yield ReplicateRow(position)
        yield Static("", classes="rep-summary")
        yield Static("", classes="rep-error")
        yield Button("Add replicate", id="add-replicate", compact=True)

    def on_mount(self) -> None:
        """Say what to type."""
        self.recalculate()

    def focus_first(self) -> None:
        """Focus the first live-cells box."""
        self.query(".rep-live").first(Input).focus()

    def set_limits(self, *, replicates: int, max_cv_pct: float, decimal_separator: str) -> None:
        """The lot's specification: minimum replicates, CV limit; the site's separator."""
        self.max_cv_pct = max_cv_pct
        self.decimal_separator = decimal_separator
        rows = list(self.query(ReplicateRow))
        for position in range(len(rows) + 1, replicates + 1):
            self.mount(ReplicateRow(position), before=self.query_one(".rep-summary"))
        self.recalculate()

    @on(Button.Pressed, "#add-replicate")
    def add_replicate(self) -> None:
        """Another row (up to :data:`MAX_REPLICATES`)."""
        rows = list(self.query(ReplicateRow))
        if len(rows) >= MAX_REPLICATES:
            return
        row = ReplicateRow(len(rows) + 1)
        self.mount(row, before=self.query_one(".rep-summary"))
        self.call_after_refresh(lambda: row.query_one(".rep-live", Input).focus())

    def _number(self, text: str, what: str, position: int, *, whole: bool) -> float:
        normal = text.replace(self.decimal_separator, ".") if not whole else text
        try:
            return int(normal) if whole else float(normal)
        except ValueError:
            kind = "a whole number" if whole else "a number such as 2"
            raise ValidationError(
                f'Replicate {position}: {what} "{text[:20]}" is not {kind}.', field="Replicates"
            ) from None

    def _read(self, row: ReplicateRow) -> HemocytometerReplicate:
        boxes, n = row.boxes(), row.position
        return HemocytometerReplicate(
            live=int(self._number(boxes["live"], "live cells", n, whole=True)),
            dead=int(self._number(boxes["dead"] or "0", "dead cells", n, whole=True)),
            squares=int(self._number(boxes["squares"], "squares", n, whole=True)),
            dilution=self._number(boxes["dilution"], "dilution", n, whole=False),
        )

    def replicates(self) -> list[HemocytometerReplicate]:
        """Every filled row as the service takes it (raises ValidationError when a row is
        not readable; blank rows are left out)."""
        out = []
        for row in self.query(ReplicateRow):
            if row.is_blank():
                continue
            rep = self._read(row)
            try:
                calc.count_replicate(rep.live, rep.dead, rep.squares, rep.dilution)
            except ValidationError as exc:
                raise ValidationError(
                    f"Replicate {row.position}: {exc.message}", field="Replicates"
                ) from None
            out.append(rep)
        return out

    @on(Input.Changed)
    def recalculate(self) -> None:
        """Per-row results and the mean, viability and CV of the rows filled so far."""
        summary = self.query_one(".rep-summary", Static)
        counts = []
        self.error = None
        for row in self.query(ReplicateRow):
            result = row.query_one(".rep-result", Static)
            if row.is_blank():
                result.update("")
                continue
            try:
                rep = self._read(row)
                one = calc.count_replicate(rep.live, rep.dead, rep.squares, rep.dilution)
            except ValidationError as exc:
                result.update(Text("✗", style="bold red"))
                self.error = self.error or (
                    exc.message
                    if exc.message.startswith("Replicate")
                    else f"Replicate {row.position}: {exc.message}"
                )
                continue
            counts.append(one)
            result.update(
                Text(
                    f"→ {format_number(one.viable_per_ml)}, "
                    f"{format_number(one.viability_percent)} %"
                )
            )
        error_line = self.query_one(".rep-error", Static)
        error_line.update(Text(self.error or ""))
        error_line.display = self.error is not None
        summary.remove_class("-recount")
        if not counts:
            summary.update("Type the live and dead cells counted in each replicate.")
            return
        total = calc.summarize_counts(counts)
        cv = total.viable_stats.cv_percent
        sep = self.decimal_separator
        mean = format_quantity(total.viable_per_ml, Dim.CONCENTRATION, decimal_separator=sep)
        viability = format_number(total.viability_percent, decimal_separator=sep)
        text = f"Mean {mean} viable · viability {viability} %"
        self.show_summary(text, cv)
