"""The §8 checklist as the pharmacy screens show it: numbered lines, green or red.

Shared by the pharmacy visit screen (checks 1–6 before signing ``dose-verified``) and the
second-verification screen (checks 1–3 repeated).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.widget import Widget

from lottrack.trial.dispensing import CheckOutcome

CHECK_NAMES: dict[int, str] = {
    1: "chain of identity",
    2: "lot released",
    3: "not expired",
    4: "current weight",
    5: "dose within window",
    6: "arm matches allocation",
}
"""The names the dispensing service gives its checks (shown before any result)."""


def check_line(check: CheckOutcome) -> Text:
    """``✔ 1 chain of identity — detail`` (a cross when it failed)."""
    mark = "✔" if check.passed else "✘"
    return Text.assemble((f"{mark} {check.number} {check.name}", "bold"), f" — {check.detail}")


class CheckList(Widget):
    """One line per check; pending lines are grey until :meth:`show` gets results.

    One widget drawing its lines (#18: a line widget each made the pharmacy visit seven
    widgets heavier to style and lay out whenever it opened)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "checklist--pending",
        "checklist--passed",
        "checklist--failed",
    }
    DEFAULT_CSS = """
    CheckList {
        height: auto;
        & > .checklist--pending { color: $text-muted; }
        & > .checklist--passed { color: $success; }
        & > .checklist--failed { color: $error; }
    }
    """

    def __init__(self, numbers: Sequence[int], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._numbers = tuple(numbers)
        self._lines: list[tuple[str, Text]] = []
        self.pending()

    def pending(self, note: str = "") -> None:
        """Forget results (another bag was chosen, or nothing is chosen)."""
        self._lines = [("pending", Text(f"· {n} {CHECK_NAMES[n]}{note}")) for n in self._numbers]
        self.refresh(layout=True)

    def show(self, checks: Sequence[CheckOutcome]) -> None:
        """Show outcomes; a check without an outcome stays pending."""
        self.pending()
        for check in checks:
            if check.number in self._numbers:
                state = "passed" if check.passed else "failed"
                self._lines[self._numbers.index(check.number)] = (state, check_line(check))

    def render(self) -> Text:
        """Each line in the colour of its state."""
        text = Text(end="")
        for n, (state, line) in enumerate(self._lines):
            styled = line.copy()
            styled.stylize_before(self.get_component_rich_style(f"checklist--{state}"))
            text.append_text(styled)
            if n < len(self._lines) - 1:
                text.append("\n")
        return text

    @staticmethod
    def failures(checks: Sequence[CheckOutcome]) -> str:
        """The failing checks in full, one per line, for the status line."""
        return "\n".join(
            f"Check {c.number} ({c.name}) fails: {c.detail}" for c in checks if not c.passed
        )
