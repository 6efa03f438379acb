"""What the two count widgets share (the hemocytometer calculator and the automated
counter's readings): replicates typed one row each, with the CV limit and the decimal
separator of the lot, and a summary line that announces a recount before saving.

The arithmetic is :mod:`lottrack.kernel.calc`, the same the count service stores; a CV over
the limit is stored too, flagged for a recount, so the line says so rather than refusing.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from lottrack.kernel.units import format_number


class ReplicateCounts(Vertical):
    """Base of a count widget: compose a ``.rep-summary`` line under the rows."""

    def __init__(
        self,
        *,
        replicates: int = 2,
        max_cv_pct: float = 10.0,
        decimal_separator: str = ".",
        id: str | None = None,
    ) -> None:  # noqa: A002
        super().__init__(name="Replicates", id=id)
        self.start = replicates
        self.max_cv_pct = max_cv_pct
        self.decimal_separator = decimal_separator

    def show_summary(self, text: str, cv_percent: float | None) -> None:
        """``text`` (the mean and viability) and the CV against the limit."""
        summary = self.query_one(".rep-summary", Static)
        if cv_percent is None:
            summary.update(Text(text + " · CV needs 2 replicates"))
            return
        cv = format_number(cv_percent, decimal_separator=self.decimal_separator)
        if cv_percent > self.max_cv_pct:
            summary.add_class("-recount")
            summary.update(
                Text(
                    f"{text} · CV {cv} % > {self.max_cv_pct:g} %: "
                    "RECOUNT REQUIRED (stored and flagged)"
                )
            )
        else:
            summary.update(Text(f"{text} · CV {cv} % (≤ {self.max_cv_pct:g} %)"))
