"""Ask for the seed and block size of a permuted-block randomisation."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Grid
from textual.content import Content
from textual.widgets import Input, Label, Static
from typing_extensions import override

from tui.dialogs.base import ModalForm
from tui.dialogs.confirm import ConfirmModal


@dataclass(frozen=True)
class GenerateEntry:
    """What was typed; the allocation service checks the block size and randomises."""

    seed: int
    block_size: int


class GenerateAllocationModal(ModalForm[GenerateEntry]):
    """Seed (required) and block size (default from the settings). None when cancelled.
    Enter moves from the seed to the block size and generates from there."""

    DIALOG_TITLE = "Generate allocations"
    SUBMIT = "Generate"
    FIELDS = ("#generate-seed", "#generate-block")

    def __init__(self, first_codes: tuple[str, ...], count: int, block_size: int) -> None:
        """``count`` subjects will be allocated; ``first_codes`` are the first few of them
        (listed, then "and n more")."""
        super().__init__()
        self._codes = first_codes
        self._count = count
        self._block_size = block_size

    @override
    def compose_body(self) -> ComposeResult:
        """What will be allocated, two fields."""
        n, shown = self._count, len(self._codes)
        listed = ", ".join(self._codes) + (f" and {n - shown} more" if n > shown else "")
        yield Static(
            Content(
                f"Allocate the {n} subject{'s' if n != 1 else ''} not yet allocated "
                f"({listed}), in this order, by 1:1 permuted blocks. The seed and block "
                "size are recorded with each allocation."
            )
        )
        with Grid(classes="form-grid"):
            yield Label("Seed", classes="form-label")
            yield Input(
                id="generate-seed", compact=True, placeholder="a whole number, e.g. 20250314"
            )
            yield Label("Block size", classes="form-label")
            yield Input(str(self._block_size), id="generate-block", compact=True)

    def _number(self, selector: str, field: str, expected: str) -> int | None:
        typed = self.query_one(selector, Input).value.strip()
        try:
            return int(typed)
        except ValueError:
            self.say(
                f'{field}: "{typed[:20]}" is not a whole number; expected {expected}.',
                focus=selector,
            )
            return None

    @override
    def submit(self) -> None:
        seed = self._number("#generate-seed", "Seed", "a whole number such as 20250314")
        if seed is None:
            return
        size = self._number("#generate-block", "Block size", "an even number such as 4")
        if size is None:
            return
        n = self._count

        def answered(go: bool | None) -> None:
            if go:
                self.dismiss(GenerateEntry(seed, size))

        # Allocations are final (a subject's sequence is never changed): ask, whether Enter
        # or the button got here.
        self.app.push_screen(
            ConfirmModal(
                "Allocate now?",
                f"Allocate {n} subject{'s' if n != 1 else ''} by 1:1 permuted blocks of {size}, "
                f"seed {seed}? An allocation cannot be changed afterwards.",
                yes="Allocate",
                no="Not yet",
            ),
            answered,
        )
