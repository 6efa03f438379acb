"""The §8 checklist as the pharmacy screens show it: numbered lines, green or red.

Shared by the pharmacy visit screen (checks 1–6 before signing ``dose-verified``) and the
second-verification screen (checks 1–3 repeated).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

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


class CheckList(Vertical):
    """One line per check; ``pending`` lines are grey until :meth:`show` gets results."""

    def __init__(self, numbers: Sequence[int], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes="checklist")
        self._numbers = tuple(numbers)

    def compose(self) -> ComposeResult:
        """A line per check, pending."""
        for number in self._numbers:
            yield Static(
                f"· {number} {CHECK_NAMES[number]}", id=f"check-{number}", classes="check pending"
            )

    def pending(self, note: str = "") -> None:
        """Forget results (another bag was chosen, or nothing is chosen)."""
        for number in self._numbers:
            line = self.query_one(f"#check-{number}", Static)
            line.update(Text(f"· {number} {CHECK_NAMES[number]}{note}"))
            line.set_classes("check pending")

    def show(self, checks: Sequence[CheckOutcome]) -> None:
        """Show outcomes; a check without an outcome stays pending."""
        self.pending()
        for check in checks:
            if check.number not in self._numbers:
                continue
            line = self.query_one(f"#check-{check.number}", Static)
            line.update(check_line(check))
            line.set_classes("check passed" if check.passed else "check failed")

    @staticmethod
    def failures(checks: Sequence[CheckOutcome]) -> str:
        """The failing checks in full, one per line, for the status line."""
        return "\n".join(
            f"Check {c.number} ({c.name}) fails: {c.detail}" for c in checks if not c.passed
        )
