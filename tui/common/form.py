"""The base of every form: load choices, check fields, save through one service call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar

from rich.text import Text
from sqlmodel import Session
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, LoadingIndicator, Static
from textual.worker import Worker, WorkerState

from lottrack.kernel.errors import LotTrackError
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from tui.common.screen import AppScreen
from tui.dialogs.confirm import dismiss_or_ask
from tui.unsaved import KeepsTypedInput
from tui.widgets.key_footer import KeyFooter
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField
from tui.widgets.session_header import SessionHeader
from tui.workers import post_if_current

SaveCall = Callable[[Session, CurrentUser], str]
"""The service call a form makes, built from plain values; returns a one-line summary."""

P = ParamSpec("P")
R = TypeVar("R")


def service_call(
    service: Callable[Concatenate[Session, CurrentUser, P], R],
    summary: Callable[[R], str],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> SaveCall:
    """The save call of a form that makes one service call: ``service`` with the session,
    the person and these values; ``summary`` words what it returned (in the worker, inside
    the session)."""

    def save(session: Session, who: CurrentUser) -> str:
        return summary(service(session, who, *args, **kwargs))

    return save


class FormProblem(Exception):
    """Something the form itself refuses before asking the service (nothing picked…)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class FormLoaded(Message):
    """What :meth:`FormScreen.load` read."""

    data: Any


@dataclass
class FormSaved(Message):
    """The service stored the record."""

    summary: str


@dataclass
class FormRefused(Message):
    """The service refused; nothing was stored."""

    title: str
    message: str
    field: str | None


def field_row(label: str, widget: Widget) -> tuple[Label, Widget]:
    """A label and its field, for a two-column ``Grid(classes="form-grid")``."""
    label_id = f"label-{widget.id}" if widget.id else None
    return Label(label, classes="form-label", id=label_id), widget


class FormScreen(KeepsTypedInput, AppScreen[str | None]):
    """A full-screen form; :meth:`dismiss` hands the summary to whoever opened it. Esc on
    a form holding typed input asks before throwing it away."""

    FORM_TITLE: str = "Form"
    """The heading; a form that names its record (a site, a lot) sets it in ``__init__``."""
    SAVE_LABEL: ClassVar[str] = "Save"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
        # Priority bindings move the focus at once: a fast typist (or a scanner) who types
        # "90 mL⇥1.4e9⏎" never has the characters after ⇥ land in the previous field.
        Binding("tab", "next_field", show=False, priority=True),
        Binding("shift+tab", "previous_field", show=False, priority=True),
        Binding("enter", "enter_field", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: Any = None
        self.saving = False

    # ------------------------------------------------------------ what subclasses give

    def compose_fields(self) -> ComposeResult:
        """The form's fields (inside a scrolling area)."""
        yield from ()

    def load(self, session: Session, who: CurrentUser) -> Any:
        """Runs in a worker: read what the form offers. Return plain data."""
        del session, who
        return None

    def apply(self, data: Any) -> None:
        """Runs on the UI thread with what :meth:`load` returned (fill choices…)."""

    def context_line(self) -> str:
        """One line under the title (which lot, which site…), once loaded."""
        return ""

    def collect(self) -> SaveCall:
        """Read the fields and return the service call; raise :class:`FormProblem`."""
        raise NotImplementedError

    # ----------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Header, title, fields, message line, buttons, footer."""
        yield SessionHeader()
        with Vertical(id="form-body"):
            yield Static(Content(self.FORM_TITLE), classes="pane-title", id="form-title")
            yield Static("", id="form-context", classes="pane-hint")
            yield LoadingIndicator(id="form-loading")
            with VerticalScroll(id="form-fields"):
                yield from self.compose_fields()
            yield Static("", id="form-message", classes="message")
            with Horizontal(classes="buttons", id="form-buttons"):
                yield Button(self.SAVE_LABEL, id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the choices before anything can be typed."""
        self.query_one("#form-fields").display = False
        user = self.ctx.user
        if user is not None:
            self._load(self.ctx.db, user)

    @work(thread=True, exclusive=True, exit_on_error=False, group="form-load")
    def _load(self, db: Database, who: CurrentUser) -> None:
        with db.reader() as session:
            data = self.load(session, who)
        post_if_current(self, FormLoaded(data))

    @on(FormLoaded)
    def _loaded(self, message: FormLoaded) -> None:
        self.data = message.data
        self.query_one("#form-loading").display = False
        self.query_one("#form-fields").display = True
        self.apply(message.data)
        self.query_one("#form-context", Static).update(Content(self.context_line()))
        self.call_after_refresh(self.focus_first)
        self.call_after_refresh(self.mark_clean)

    def input_root(self) -> Widget:
        """The fields (not the buttons)."""
        return self.query_one("#form-fields")

    def show_field(self, widget_id: str, shown: bool) -> None:
        """Show or hide a field and its label (rows made by :func:`field_row`)."""
        self.query_one(f"#{widget_id}").display = shown
        self.query_one(f"#label-{widget_id}").display = shown

    def focus_first(self) -> None:
        """Put the cursor in the first field."""
        for widget in self.query_one("#form-fields").query(
            "Input, Select, SelectionList, Checkbox, RadioSet, TextArea"
        ):
            if widget.focusable and widget.display:
                widget.focus()
                return

    # ------------------------------------------------------------------------ saving

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter moves on from a text box only (it presses buttons, opens pickers…)."""
        del parameters
        if action == "enter_field":
            return isinstance(self.focused, Input)
        return True

    def action_enter_field(self) -> None:
        """Enter in a text box: the next field, at once."""
        self.focus_next()

    def action_next_field(self) -> None:
        """The next field, at once."""
        self.focus_next()

    def action_previous_field(self) -> None:
        """The previous field, at once."""
        self.focus_previous()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Check the fields, then run the service call in a worker."""
        if self.saving or self.data is None and self.query_one("#form-loading").display:
            return
        self._clear_marks()
        fields = [
            w
            for w in self.query_one("#form-fields").query("QuantityField, MomentField")
            if w.display and all(a.display for a in w.ancestors_with_self if isinstance(a, Widget))
        ]
        bad = [w for w in fields if isinstance(w, QuantityField | MomentField) and not w.check()]
        if bad:
            self._say(bad[0].error or "Correct the field marked in red.", error=True)
            bad[0].focus()
            return
        try:
            call = self.collect()
        except FormProblem as problem:
            self._refused(FormRefused("Invalid input", problem.message, problem.field))
            return
        except LotTrackError as exc:
            self._refused(FormRefused(exc.title, exc.message, getattr(exc, "field", None)))
            return
        self.submit(call)

    def submit(self, call: SaveCall) -> None:
        """Run the checked service call in a worker (a signing form asks to sign first)."""
        user = self.ctx.user
        if user is None:
            return
        self.saving = True
        self.query_one("#save", Button).disabled = True
        self._say("Saving…", error=False)
        self._save(self.ctx.db, user, call)

    @work(thread=True, exclusive=True, exit_on_error=False, group="form-save")
    def _save(self, db: Database, who: CurrentUser, call: SaveCall) -> None:
        try:
            with db.session() as session:
                summary = call(session, who)
        except LotTrackError as exc:
            self.post_message(FormRefused(exc.title, exc.message, getattr(exc, "field", None)))
        else:
            self.post_message(FormSaved(summary))

    @on(FormSaved)
    def _saved(self, message: FormSaved) -> None:
        self.saving = False
        self.notify(message.summary, title="Saved", markup=False, timeout=8)
        self.dismiss(message.summary)

    @on(FormRefused)
    def _refused(self, message: FormRefused) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        self._say(f"{message.title}: {message.message} Nothing was saved.", error=True)
        target = self.field_widget(message.field)
        if target is not None:
            if isinstance(target, QuantityField | MomentField):
                target.show_error(message.message)
            else:
                target.add_class("-invalid")
            target.focus()

    def field_widget(self, field: str | None) -> Widget | None:
        """The widget whose ``name`` is the service's field name (case ignored)."""
        if not field:
            return None

        def norm(text: str) -> str:
            return text.casefold().replace("_", " ")

        for widget in self.query_one("#form-fields").query("*"):
            names = (widget.name, getattr(widget, "field", None))
            if any(isinstance(n, str) and norm(n) == norm(field) for n in names):
                return widget
        return None

    def _clear_marks(self) -> None:
        for widget in self.query(".-invalid"):
            if not isinstance(widget, QuantityField | MomentField):
                widget.remove_class("-invalid")
        self._say("", error=False)

    def _say(self, text: str, *, error: bool, keep_notices: bool = False) -> None:
        line = self.query_one("#form-message", Static)
        line.update(Text(text))
        line.set_class(error, "error")
        if error and not keep_notices:  # the refusal is what to read: no notice stays over it
            self.app.clear_notifications()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.saving = False
            self.query_one("#save", Button).disabled = False
            self.query_one("#form-loading").display = False
            self._say(
                "The form could not finish; see the notice. Nothing was saved "
                "unless the notice says so.",
                error=True,
                keep_notices=True,
            )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without saving; typed input is thrown away only once the person says so."""
        dismiss_or_ask(
            self,
            f"{self.FORM_TITLE}: nothing has been saved. Leave "
            "the form and throw away what you typed?",
            typed=self.has_unsaved_input(),
        )


def grid() -> Grid:
    """The two-column label/field grid of a form."""
    return Grid(classes="form-grid")
