"""The end of an infusion: when, and any reactions with their grade (1–5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Input, Label, Select, Static
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError
from tui.dialogs.base import ModalForm
from tui.widgets.moment_input import MomentField

GRADES: tuple[tuple[str, int], ...] = (
    ("1 mild", 1),
    ("2 moderate", 2),
    ("3 severe", 3),
    ("4 life-threatening", 4),
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


class InfusionEndModal(ModalForm[InfusionEnd]):
    """End time (default now), reactions and grade. Returns None when cancelled.

    Enter moves from the time to the reactions to the grade (where it opens the list);
    ctrl+s or the button goes on to the signature. What was typed is checked by ``check``
    before the dialog closes, so a refusal that needs no signature is shown here, before
    the password is asked, with what was typed still in the fields. ``draft`` fills the
    fields with what was typed before (the signature that followed was cancelled)."""

    DIALOG_TITLE = "End of the infusion"
    SUBMIT = "Sign…"
    FIELDS = ("#end-at", "#reactions", "#grade")
    BINDINGS = [Binding("ctrl+s", "submit", "Sign…")]

    def __init__(
        self,
        clock: Callable[[], dt.datetime],
        check: EndCheck | None = None,
        *,
        draft: InfusionEnd | None = None,
    ) -> None:
        super().__init__()
        self._clock = clock
        self._check = check
        self._draft = draft

    @override
    def compose_body(self) -> ComposeResult:
        """Time, reactions, grade (as typed before, with a ``draft``)."""
        draft = self._draft
        with Grid(classes="form-grid"):
            yield Label("Ended at", classes="form-label")
            yield MomentField(
                "Ended at", self._clock, id="end-at", value=draft.ended_text if draft else "now"
            )
            yield Label("Reactions", classes="form-label")
            yield Input(
                draft.reactions if draft else "",
                id="reactions",
                compact=True,
                placeholder="none (leave empty)",
            )
            yield Label("Grade", classes="form-label")
            grade = draft.grade if draft and draft.grade is not None else Select.NULL
            yield Select(GRADES, id="grade", compact=True, prompt="no reaction", value=grade)
        yield Static("A reaction needs a grade. You sign “administered” next.", classes="form-note")

    @override
    def submit(self) -> None:
        field = self.query_one("#end-at", MomentField)
        at = field.value()
        if at is None or not field.check():
            field.focus()
            return
        grade = self.query_one("#grade", Select).value
        end = InfusionEnd(
            at,
            self.query_one("#reactions", Input).value,
            grade if isinstance(grade, int) else None,
            field.text,
        )
        if self._check is None:
            self.dismiss(end)
            return
        self.say("Checking…", error=False)
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
        target = (
            "#grade"
            if "grade" in message.refusal.casefold()
            else ("#reactions" if message.refusal.startswith("Reactions") else "#end-at")
        )
        self.say(message.refusal, focus=target)
