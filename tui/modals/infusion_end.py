"""The end of an infusion: when, and any reactions with their grade (1–5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
from typing_extensions import override

from lottrack.errors import LotTrackError
from tui.modals.typeahead import after_pending_keys
from tui.widgets.moment_input import MomentField

GRADES: tuple[tuple[str, int], ...] = (
    ("1 mild", 1), ("2 moderate", 2), ("3 severe", 3), ("4 life-threatening", 4),
    ("5 death", 5),
)
"""CTCAE-like grades as the ward chooses them."""


@dataclass(frozen=True)
class InfusionEnd:
    """What was typed; the ward service checks it and asks for the signature's meaning."""

    ended_at: dt.datetime
    reactions: str
    grade: int | None
    ended_text: str = "now"
    """The time as typed (``14:30``, ``now``), to show it again if the dialog reopens."""


EndCheck = Callable[[InfusionEnd], None]
"""Runs in a worker: the ward service's checks of what was typed (raises a LotTrackError
naming the field); nothing is written."""


@dataclass
class _Checked(Message):
    end: InfusionEnd
    refusal: str | None


class InfusionEndModal(ModalScreen[InfusionEnd | None]):
    """End time (default now), reactions and grade. Returns None when cancelled.

    What was typed is checked by ``check`` before the dialog closes, so a refusal that
    needs no signature is shown here, before the password is asked, with what was typed
    still in the fields. ``draft`` fills the fields with what was typed before (the
    signature that followed was cancelled)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "ok", "Sign…"),
        Binding("enter", "next_field", show=False, priority=True),
    ]

    def __init__(self, clock: Callable[[], dt.datetime], check: EndCheck | None = None,
                 *, draft: InfusionEnd | None = None) -> None:
        super().__init__()
        self._clock = clock
        self._check = check
        self._draft = draft

    def compose(self) -> ComposeResult:
        """Time, reactions, grade, buttons."""
        draft = self._draft
        with Vertical(classes="modal-box"):
            yield Static("End of the infusion", classes="dialog-title")
            with Grid(classes="form-grid"):
                yield Label("Ended at", classes="form-label")
                yield MomentField("Ended at", self._clock, id="end-at",
                                  value=draft.ended_text if draft else "now")
                yield Label("Reactions", classes="form-label")
                yield Input(draft.reactions if draft else "", id="reactions", compact=True,
                            placeholder="none (leave empty)")
                yield Label("Grade", classes="form-label")
                grade = draft.grade if draft and draft.grade is not None else Select.NULL
                yield Select(GRADES, id="grade", compact=True, prompt="no reaction",
                             value=grade)
            yield Static("A reaction needs a grade. You sign “administered” next.",
                         classes="form-note")
            yield Static("", id="end-message", classes="message")
            with Horizontal(classes="buttons"):
                yield Button("Sign…", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Start at the time field (Enter moves on)."""
        self.query_one("#end-at", MomentField).focus()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter in a text field moves on; on the grade it opens the list."""
        if action == "next_field":
            return isinstance(self.focused, Input)
        return True

    def action_next_field(self) -> None:
        """From the time to the reactions, from the reactions to the grade."""
        # set_focus at once (not focus(), which waits): typed-ahead keys follow.
        if self.query_one("#reactions", Input).has_focus:
            self.set_focus(self.query_one("#grade", Select))
        else:
            self.set_focus(self.query_one("#reactions", Input))

    def action_ok(self) -> None:
        """Once typed-ahead keys are in, check the time and close (the signature follows)."""
        after_pending_keys([self.query_one("#end-at", MomentField).input,
                            self.query_one("#reactions", Input)], self._ok)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        field = self.query_one("#end-at", MomentField)
        at = field.value()
        if at is None or not field.check():
            field.focus()
            return
        grade = self.query_one("#grade", Select).value
        end = InfusionEnd(at, self.query_one("#reactions", Input).value,
                          grade if isinstance(grade, int) else None, field.text)
        if self._check is None:
            self.dismiss(end)
            return
        self._say("Checking…", error=False)
        self._run_check(self._check, end)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _run_check(self, check: EndCheck, end: InfusionEnd) -> None:
        try:
            check(end)
        except LotTrackError as exc:
            self.post_message(_Checked(end, exc.message))
        else:
            self.post_message(_Checked(end, None))

    @on(_Checked)
    def _checked(self, message: _Checked) -> None:
        if message.refusal is None:
            self.dismiss(message.end)
            return
        self._say(message.refusal, error=True)
        target = "#grade" if "grade" in message.refusal.casefold() else (
            "#reactions" if message.refusal.startswith("Reactions") else "#end-at")
        self.query_one(target).focus()

    def _say(self, text: str, *, error: bool) -> None:
        line = self.query_one("#end-message", Static)
        line.update(Text(text))
        line.set_class(error, "error")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close: nothing is recorded."""
        self.dismiss(None)
