"""Automated counter readings: total concentration and viability per replicate, with the
viable concentration, viability and CV shown as they are typed (as the service stores)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from lottrack.kernel import calc
from lottrack.kernel.errors import ValidationError
from lottrack.kernel.units import Dim, format_number, format_quantity, parse_quantity
from lottrack.manufacturing.counts import AutomatedReplicate
from tui.widgets.replicates import ReplicateCounts


class ReadingRow(Horizontal):
    """One instrument reading."""

    def __init__(self, position: int) -> None:
        super().__init__(classes="auto-row")
        self.position = position

    def compose(self) -> ComposeResult:
        """Number, total concentration, viability, result."""
        yield Static(f"{self.position}", classes="rep-n")
        yield Input(placeholder="e.g. 1.8e6/mL", compact=True, classes="auto-conc")
        yield Input(placeholder="e.g. 94 %", compact=True, classes="auto-viab")
        yield Static("", classes="rep-result")

    def texts(self) -> tuple[str, str]:
        """Concentration and viability as typed."""
        return (
            self.query_one(".auto-conc", Input).value,
            self.query_one(".auto-viab", Input).value,
        )


class AutomatedCounts(ReplicateCounts):
    """Reading rows and a live summary; :meth:`replicates` for the service."""

    DEFAULT_CSS = """
    AutomatedCounts { height: auto; }
    AutomatedCounts .rep-head { height: 1; color: $text-muted; }
    AutomatedCounts .auto-row { height: auto; }
    AutomatedCounts .rep-n { width: 3; }
    AutomatedCounts .auto-conc { width: 16; margin-right: 1; }
    AutomatedCounts .auto-viab { width: 8; margin-right: 1; }
    AutomatedCounts .rep-result { width: 1fr; height: auto; color: $text-muted; }
    AutomatedCounts .rep-summary { height: auto; margin-top: 1; text-style: bold; }
    AutomatedCounts .rep-summary.-recount { color: $error; }
    """

    def compose(self) -> ComposeResult:
        """Heads, rows, summary."""
        yield Static("#  Total concentration Viability → viable cells/mL", classes="rep-head")
        for position in range(1, self.start + 1):
            yield ReadingRow(position)
        yield Static("", classes="rep-summary")

    def on_mount(self) -> None:
        """Say what to type."""
        self.recalculate()

    def replicates(self) -> list[AutomatedReplicate]:
        """The filled rows (blank rows are left out)."""
        return [
            AutomatedReplicate(*row.texts())
            for row in self.query(ReadingRow)
            if any(t.strip() for t in row.texts())
        ]

    @on(Input.Changed)
    def recalculate(self) -> None:
        """Each row's viable concentration, then mean, viability and CV."""
        viable: list[float] = []
        total: list[float] = []
        sep = self.decimal_separator
        for row in self.query(ReadingRow):
            result = row.query_one(".rep-result", Static)
            conc_text, viab_text = row.texts()
            if not conc_text.strip() and not viab_text.strip():
                result.update("")
                continue
            try:
                conc = parse_quantity(
                    conc_text, "Total concentration", Dim.CONCENTRATION, decimal_separator=sep
                ).value
                viab = parse_quantity(
                    viab_text, "Viability", Dim.FRACTION, decimal_separator=sep, allow_zero=True
                ).value
            except ValidationError as exc:
                result.update(Text(f"✗ {exc.message}", style="red"))
                continue
            viable.append(conc * viab / 100)
            total.append(conc)
            result.update(Text(f"→ {format_number(conc * viab / 100, decimal_separator=sep)}"))
        summary = self.query_one(".rep-summary", Static)
        summary.remove_class("-recount")
        if not viable:
            summary.update("Type the total concentration and viability the counter printed.")
            return
        stats = calc.replicate_stats(viable, "Viable concentration")
        mean_total = sum(total) / len(total)
        viability = 100 * stats.mean / mean_total if mean_total else 0.0
        text = (
            f"Mean {format_quantity(stats.mean, Dim.CONCENTRATION, decimal_separator=sep)} "
            f"viable · viability {format_number(viability, decimal_separator=sep)} %"
        )
        self.show_summary(text, stats.cv_percent)
