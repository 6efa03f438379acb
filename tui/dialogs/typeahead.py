"""Keys typed ahead (a barcode scanner, a fast typist) reach each field in order.

Textual hands each key to the focused widget's own message queue. A priority Enter
binding moves the focus at once (``Screen.set_focus``), so the keys that follow go to the
next field; but the fields may not have taken their queued keys yet when the form is
read. :func:`after_pending_keys` runs the reading after every field has done so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.widget import Widget


def after_pending_keys(fields: Sequence[Widget], then: Callable[[], object]) -> None:
    """Call ``then`` once each of ``fields`` has handled the messages already queued."""

    def step(index: int) -> None:
        if index == len(fields):
            then()
        else:
            fields[index].call_later(step, index + 1)

    step(0)
