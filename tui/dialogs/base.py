"""The one base of every dialog that asks for input: the same box, keys and buttons.

A :class:`ModalForm` draws a title, the subclass's body, one message line and two buttons
(the submit button, then Cancel), and a footer of its own keys (the screen's below do
nothing while it is open). **Enter** in a field moves to the next field of
:attr:`ModalForm.FIELDS` and submits from the last one (a scanner or a fast typist types
ahead: the fields take their pending keys before they are read); **ctrl+s** submits from
any field, named in the footer as the submit button is; **Esc** or Cancel closes
with None, so the caller stores nothing (after asking, when something was typed). A
subclass gives the body and :meth:`submit`, which reads the fields and either dismisses
with the result or says what is wrong.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Static
from typing_extensions import override

from tui.dialogs.confirm import dismiss_or_ask
from tui.dialogs.typeahead import after_pending_keys
from tui.unsaved import KeepsTypedInput
from tui.widgets.key_footer import KeyFooter

Result = TypeVar("Result")


class ModalForm(KeepsTypedInput, ModalScreen[Result | None]):
    """A dialog that returns a ``Result``, or None when cancelled."""

    DIALOG_TITLE: ClassVar[str] = ""
    """The title (``title=`` for one that names a record)."""
    SUBMIT: ClassVar[str] = "OK"
    """The label of the submit button (``submit=`` for one chosen by the caller)."""
    FIELDS: ClassVar[tuple[str, ...]] = ()
    """Selectors of the fields in the order Enter walks them; the first has the focus."""
    ENTER_SUBMITS_ANYWHERE: ClassVar[bool] = False
    """Enter in any field submits (a dialog whose later fields are already filled in)."""
    ASKS_BEFORE_DISCARD: ClassVar[bool] = True
    """Esc or Cancel asks before throwing away what was typed (not for a signature: a
    password is typed again anyway)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", SUBMIT, priority=True),
        # Priority: a scanner types the next code at once; the focus must move before it.
        Binding("enter", "enter_field", show=False, priority=True),
        Binding("tab", "app.focus_next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", show=False, priority=True),
    ]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """ctrl+s is named in the footer as the subclass names its submit button (added
        before Textual merges the class's bindings)."""
        own = list(cls.__dict__.get("BINDINGS", []))
        if "SUBMIT" in cls.__dict__ and not any(
            isinstance(b, Binding) and b.key == "ctrl+s" for b in own
        ):
            cls.BINDINGS = [*own, Binding("ctrl+s", "submit", cls.SUBMIT, priority=True)]
        super().__init_subclass__(**kwargs)

    def __init__(self, *, title: str | None = None, submit: str | None = None) -> None:
        """``title`` and ``submit`` (the button's label) for a dialog that names them
        when it opens; else :attr:`DIALOG_TITLE` and :attr:`SUBMIT`."""
        super().__init__()
        self._dialog_title = self.DIALOG_TITLE if title is None else title
        self._submit_label = self.SUBMIT if submit is None else submit

    # ------------------------------------------------------------ what subclasses give

    def compose_body(self) -> ComposeResult:
        """What is asked: text and fields, between the title and the message line."""
        yield from ()

    def compose_notes(self) -> ComposeResult:
        """Lines between the message line and the buttons."""
        yield from ()

    def initial_message(self) -> str:
        """A refusal to show when the dialog opens (shown again after the service's)."""
        return ""

    def first_field(self) -> str | None:
        """The selector of the field that has the focus when the dialog opens."""
        return self.FIELDS[0] if self.FIELDS else None

    def submit(self) -> None:
        """Read the fields: :meth:`dismiss` with the result, or :meth:`say` what is wrong."""
        raise NotImplementedError

    # ----------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Title, body, message line, notes, buttons."""
        with Vertical(classes="modal-box"):
            yield Static(Content(self._dialog_title), classes="dialog-title")
            yield from self.compose_body()
            message = self.initial_message()
            line = Static(Content(message), id="dialog-message", classes="message")
            line.set_class(bool(message), "error")
            yield line
            yield from self.compose_notes()
            with Horizontal(classes="buttons"):
                yield Button(self._submit_label, id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        """Type into the first field straight away."""
        first = self.first_field()
        if first is not None:
            self._focus(first)
        if self.ASKS_BEFORE_DISCARD:
            self.call_after_refresh(self.mark_clean)  # what the subclass filled in

    # ------------------------------------------------------------------------ keys

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter in a text field moves on or submits; on a button or a list it is theirs."""
        if action == "enter_field":
            return isinstance(self.focused, Input)
        return True

    def action_enter_field(self) -> None:
        """Move to the next field; from the last (or anywhere, if so set) submit."""
        index = self._focused_field()
        if not self.ENTER_SUBMITS_ANYWHERE and index is not None and index < len(self.FIELDS) - 1:
            self._focus(self.FIELDS[index + 1])
            return
        self.action_submit()

    def action_submit(self) -> None:
        """Submit once the keys already typed have reached the fields."""
        after_pending_keys(self._inputs(), self._submit_fresh)

    @on(Button.Pressed, "#ok")
    def _submit_pressed(self) -> None:
        self._submit_fresh()

    def _submit_fresh(self) -> None:
        """Submit with the message line as it was when the dialog opened: a complaint
        about an earlier attempt does not stay beside fields that have been put right."""
        message = self.initial_message()
        self.say(message, error=bool(message))
        self.submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close with None: nothing is stored; typed input is thrown away only once the
        person says so."""
        dismiss_or_ask(
            self,
            f"{self._dialog_title}: nothing has been stored. Close the dialog and "
            "throw away what you typed?",
            typed=self.has_unsaved_input(),
        )

    @override
    def input_title(self) -> str:
        """The dialog's title (as its own Esc question names it)."""
        return self._dialog_title

    # --------------------------------------------------------------------- helpers

    def say(self, text: str, *, error: bool = True, focus: str | None = None) -> None:
        """Show ``text`` on the message line (red when ``error``); focus a field."""
        line = self.query_one("#dialog-message", Static)
        line.update(Content(text))
        line.set_class(error, "error")
        if focus is not None:
            self._focus(focus)

    def _focus(self, selector: str) -> None:
        # set_focus at once (not focus(), which waits): typed-ahead keys follow.
        widget = self.query_one(selector)
        inputs = list(widget.query(Input))
        self.set_focus(inputs[0] if inputs and not widget.focusable else widget)

    def _focused_field(self) -> int | None:
        # The screen's focus, not has_focus: a key typed ahead arrives before the field
        # has handled the Focus event that set_focus sent it.
        focused = self.focused
        if focused is None:
            return None
        for index, selector in enumerate(self.FIELDS):
            widget = self.query_one(selector)
            if focused is widget or widget in focused.ancestors:
                return index
        return None

    def _inputs(self) -> list[Widget]:
        found: list[Widget] = []
        for selector in self.FIELDS:
            widget = self.query_one(selector)
            found += [widget] if isinstance(widget, Input) else list(widget.query(Input))
        return found
