"""What the trial screens (pharmacy, ward, unblinding) share: one write worker, signing
through the signature dialog, recording a weight, and a status line for the service's answer.

A write is a service call built on the UI thread from plain values, run in a worker in
its own write session. A refusal (:class:`~lottrack.kernel.errors.LotTrackError`) is shown in
the status line in the service's words (and as a notification); a refused signature
opens the signature dialog again with the service's message. Anything else is an
unexpected error that the app reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from sqlmodel import Session
from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from lottrack.kernel.errors import LotTrackError, SignatureRejected
from lottrack.kernel.units import Dim, format_quantity
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials, refusal_before_signature
from lottrack.storage.db import Database
from lottrack.trial import visits
from lottrack.trial.listings import WeightInfo
from tui.common.screen import AppScreen
from tui.dialogs.signature import SignatureModal
from tui.dialogs.weight import WeightEntry, WeightModal

Write = Callable[[Session], Any]
"""A service call to make in a write session; its return value goes to the callback."""
Done = Callable[[Any], None]
"""Runs on the UI thread with what the write returned."""


def when(moment: dt.datetime | None, tz: dt.tzinfo | None, *, zone: bool = True) -> str:
    """A time as the trial screens show it, in the clock's zone: ``2025-03-14 09:30 CET``
    (without the zone in a table column whose heading names it)."""
    if moment is None:
        return "—"
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M" + (" %Z" if zone else ""))


def zone_name(tz: dt.tzinfo | None, at: dt.datetime) -> str:
    """The zone's abbreviation at ``at`` (for column headings): ``CET``."""
    return at.astimezone(tz).strftime("%Z")


def weight_line(weight: WeightInfo | None, tz: dt.tzinfo | None) -> tuple[str, str]:
    """The current-weight line and its style class (``""``, ``warning`` or ``error``)."""
    if weight is None:
        return "Weight: none recorded — press w to record one.", "error"
    age = (
        f"{weight.age_days:.1f} days old (limit {weight.max_age_days:g})"
        if weight.fresh
        else f"TOO OLD: {weight.age_days:.1f} days (limit {weight.max_age_days:g}) — press w"
    )
    text = (
        f"Weight: {format_quantity(weight.weight_kg, Dim.MASS)}, measured "
        f"{when(weight.measured_at, tz)}, {age}"
    )
    if weight.warning:
        text += f"\n{weight.warning}"
    return text, "" if weight.fresh and not weight.warning else "warning"


@dataclass
class WriteDone(Message):
    """The service stored the record."""

    result: Any
    done: Done


@dataclass
class WriteRefused(Message):
    """The service refused; nothing was stored (a refusal may be audited)."""

    title: str
    message: str


@dataclass
class SignatureRefused(Message):
    """The signature was refused (wrong password, locked account …)."""

    message: str


@dataclass(frozen=True)
class _Signing:
    meaning: str
    subject_text: str
    make: Callable[[Credentials], Write]
    done: Done


REFRESH_AND_BACK = (
    Binding("r", "reload", "Refresh", show=False),
    Binding("escape", "back", "Back"),
)
"""The last keys of a trial screen on one record: read it again, go back."""


class TrialScreen(AppScreen):
    """Base of the pharmacy, ward and unblinding screens; compose a ``#trial-status``."""

    def __init__(self) -> None:
        super().__init__()
        self._signing: _Signing | None = None

    @property
    def who(self) -> CurrentUser:
        """The logged-in person (these screens only open after login)."""
        user = self.ctx.user
        if user is None:
            raise RuntimeError("a trial screen needs a logged-in person")
        return user

    def status(self, text: str, *, error: bool = False, success: bool = False) -> None:
        """Say what happened under the screen's content."""
        line = self.query_one("#trial-status", Static)
        line.update(Text(text))
        line.set_class(error, "error")
        line.set_class(success, "success")

    def write(self, call: Write, done: Done) -> None:
        """Run ``call`` in a worker; ``done`` gets its result on the UI thread."""
        self.status("Saving…")
        self._write(self.ctx.db, call, done)

    def sign(
        self,
        meaning: str,
        subject_text: str,
        make: Callable[[Credentials], Write],
        done: Done,
        *,
        message: str = "",
    ) -> None:
        """Ask for the signature, then run the call ``make(credentials)`` builds. A refusal
        that needs no password (separation of duties, the record's state) is said first,
        and the password is not asked."""
        self._signing = _Signing(meaning, subject_text, make, done)

        def signed(creds: Credentials | None) -> None:
            if creds is None:
                self.status("Not signed: nothing was stored.")
                return
            self.write(make(creds), done)

        def ask() -> None:
            self.app.push_screen(SignatureModal(meaning, subject_text, message=message), signed)

        if message:  # asking again after a refused signature: the checks passed already
            ask()
            return
        self.status("Checking…")
        self._precheck(self.ctx.db, make, ask)

    def record_weight(self, subject_id: int, subject_code: str, then: Callable[[], None]) -> None:
        """Ask for a weight of the subject and store it; the status line says what was
        recorded (with the service's warning for an unusual value), then ``then`` runs."""
        who = self.who

        def typed(entry: WeightEntry | None) -> None:
            if entry is not None:
                self.write(
                    lambda s: visits.record_weight(
                        s,
                        who,
                        subject_id=subject_id,
                        weight_text=entry.weight_text,
                        measured_at=entry.measured_at,
                        confirm_implausible=entry.confirmed,
                    ),
                    lambda recorded: self._weighed(recorded, then),
                )

        self.app.push_screen(WeightModal(subject_code, self.ctx.clock), typed)

    def _weighed(self, recorded: visits.WeightRecorded, then: Callable[[], None]) -> None:
        text = f"Weight {format_quantity(recorded.weight_kg, Dim.MASS)} recorded."
        if recorded.warning:
            self.status(f"{text} Warning: {recorded.warning}", error=True)
        else:
            self.status(text, success=True)
        then()

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _precheck(
        self, db: Database, make: Callable[[Credentials], Write], then: Callable[[], None]
    ) -> None:
        def run(creds: Credentials) -> None:
            with db.session() as session:
                make(creds)(session)

        refusal = refusal_before_signature(run)
        if refusal is None:
            self.app.call_from_thread(self.status, "")
            self.app.call_from_thread(then)
        else:
            self.post_message(WriteRefused(refusal.title, refusal.message))

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def _write(self, db: Database, call: Write, done: Done) -> None:
        try:
            with db.session() as session:
                result = call(session)
        except SignatureRejected as exc:
            self.post_message(SignatureRefused(exc.message))
        except LotTrackError as exc:
            self.post_message(WriteRefused(exc.title, exc.message))
        else:
            self.post_message(WriteDone(result, done))

    @on(Worker.StateChanged)
    def _write_failed(self, event: Worker.StateChanged) -> None:
        # The app shows the unexpected error; the status line stops saying "Saving…".
        if event.state is WorkerState.ERROR and event.worker.group == "write":
            self.status("The action did not complete; see the message.", error=True)

    @on(WriteDone)
    def _done(self, message: WriteDone) -> None:
        message.stop()
        self.status("")
        message.done(message.result)

    @on(WriteRefused)
    def _refused(self, message: WriteRefused) -> None:
        message.stop()
        self.status(message.message, error=True)
        self.notify(
            message.message, title=message.title, severity="error", timeout=10, markup=False
        )

    @on(SignatureRefused)
    def _signature_refused(self, message: SignatureRefused) -> None:
        message.stop()
        signing = self._signing
        self.status(message.message, error=True)
        if signing is not None:
            self.sign(
                signing.meaning,
                signing.subject_text,
                signing.make,
                signing.done,
                message=message.message,
            )
