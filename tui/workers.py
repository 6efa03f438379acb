"""Worker plumbing shared by screens and panes.

Database calls run in ``@work(thread=True, exclusive=True, exit_on_error=False)`` workers.
A worker posts a small dataclass message with its result; when it raises instead, Textual
posts ``Worker.StateChanged`` (which does not bubble) to the node that started it. The
:class:`ReportsWorkerErrors` mixin forwards those failures to the app's one error handler,
``LotTrackApp.show_error``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from tui.context import app_of

if TYPE_CHECKING:  # the database layer loads behind the login screen (tui/opening.py)
    from sqlmodel import Session

    from lottrack.storage.db import Database

T = TypeVar("T")


class ReportsWorkerErrors(DOMNode):
    """Mixin for a screen or widget that starts workers: their errors become visible."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Hand a failed worker's exception to the app (never a traceback on screen)."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            app_of(self).show_error(event.worker.error)


def first_line(error: BaseException, limit: int = 200) -> str:
    """The first line of an error's text, shortened: what a person sees, never a traceback."""
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def post_if_current(node: DOMNode, message: Message) -> None:
    """Post a read worker's result, unless a newer read of the same kind replaced it.

    Starting an exclusive worker cancels the one running, but a thread worker's thread
    still finishes and would post what it read *before* the change that caused the new
    read (coming back from a dialog reloads a screen; the dialog's own write reloads it
    again). The cancelled flag is checked on the app's thread, where new workers are made:
    either the old result is posted before the new read starts, or it is dropped.
    """
    worker = get_current_worker()

    def post() -> None:
        if not worker.is_cancelled:
            node.post_message(message)

    node.app.call_from_thread(post)


_AT_ONCE = ThreadPoolExecutor(thread_name_prefix="lottrack-read")


def start_read(db: Database, read: Callable[[Session], T]) -> Future[T]:
    """Start ``read`` in a read session of ``db`` on a thread now, and return its future
    for a thread worker to wait on (``future.result()``: its result, or its exception
    raised in the worker).

    A Textual thread worker starts once the event loop runs its task: behind the
    callbacks of every widget a new screen mounts, 10 ms after the screen was composed
    (#18). Started here, the read runs while those widgets are mounted and painted."""

    def run() -> T:
        with db.reader() as session:
            return read(session)

    return _AT_ONCE.submit(run)
