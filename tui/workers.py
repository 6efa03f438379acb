"""Worker plumbing shared by screens and panes.

Database calls run in ``@work(thread=True, exclusive=True, exit_on_error=False)`` workers.
A worker posts a small dataclass message with its result; when it raises instead, Textual
posts ``Worker.StateChanged`` (which does not bubble) to the node that started it. The
:class:`ReportsWorkerErrors` mixin forwards those failures to the app's one error handler,
``LotTrackApp.show_error``.
"""

from __future__ import annotations

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from tui.context import app_of


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
