"""Ask for the seed and block size of a permuted-block randomisation."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from typing_extensions import override

from tui.modals.confirm import ConfirmModal


@dataclass(frozen=True)
class GenerateEntry:
    """What was typed; the allocation service checks the block size and randomises."""

    seed: int
    block_size: int


class GenerateAllocationModal(ModalScreen[GenerateEntry | None]):
    """Seed (required) and block size (default from the settings). None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "next_field", show=False, priority=True),
    ]

    def __init__(self, first_codes: tuple[str, ...], count: int, block_size: int) -> None:
        """``count`` subjects will be allocated; ``first_codes`` are the first few of them
        (listed, then "and n more")."""
        super().__init__()
        self._codes = first_codes
        self._count = count
        self._block_size = block_size

    def compose(self) -> ComposeResult:
        """What will be allocated, two fields, buttons."""
        n, shown = self._count, len(self._codes)
        listed = ", ".join(self._codes) + (f" and {n - shown} more" if n > shown else "")
        with Vertical(classes="modal-box"):
            yield Static(Content("Generate allocations"), classes="dialog-title")
            yield Static(Content(
                f"Allocate the {n} subject{'s' if n != 1 else ''} not yet allocated "
                f"({listed}), in this order, by 1:1 permuted blocks. The seed and block "
                "size are recorded with each allocation."))
            with Grid(classes="form-grid"):
                yield Label("Seed", classes="form-label")
                yield Input(id="generate-seed", compact=True,
                            placeholder="a whole number, e.g. 20250314")
                yield Label("Block size", classes="form-label")
                yield Input(str(self._block_size), id="generate-block", compact=True)
            yield Static("", id="generate-message", classes="message")
            with Horizontal(classes="buttons"):
                yield Button("Generate", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Type the seed straight away."""
        self.query_one("#generate-seed", Input).focus()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter in a field moves on (and generates from the last); elsewhere it presses."""
        if action == "next_field":
            return isinstance(self.focused, Input)
        return True

    def action_next_field(self) -> None:
        """From the seed to the block size; from the block size, generate."""
        seed = self.query_one("#generate-seed", Input)
        if seed.has_focus:
            self.set_focus(self.query_one("#generate-block", Input))
            return
        self._ok()

    def _number(self, selector: str, field: str, expected: str) -> int | None:
        box = self.query_one(selector, Input)
        typed = box.value.strip()
        try:
            return int(typed)
        except ValueError:
            message = self.query_one("#generate-message", Static)
            message.update(Content(f'{field}: "{typed[:20]}" is not a whole number; '
                                   f"expected {expected}."))
            message.add_class("error")
            box.focus()
            return None

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
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
        self.app.push_screen(ConfirmModal(
            "Allocate now?",
            f"Allocate {n} subject{'s' if n != 1 else ''} by 1:1 permuted blocks of {size}, "
            f"seed {seed}? An allocation cannot be changed afterwards.",
            yes="Allocate", no="Not yet"), answered)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is allocated."""
        self.dismiss(None)
