"""Record a body weight from any list that names a subject (the ward's patients, the
pharmacy's allocation), visit or not: the weight dialog, then ``visits.record_weight`` in a
worker. The service checks who may (clinicians and pharmacists) and what was typed."""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode

from lottrack.kernel.units import Dim, format_quantity
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.trial import visits
from tui.context import app_of
from tui.dialogs.weight import WeightEntry, WeightModal


def record_weight(
    node: DOMNode, subject_id: int, subject_code: str, after: Callable[[], None] | None = None
) -> None:
    """Ask for the weight of ``subject_code`` and store it; the app says what happened
    (a refusal in the service's words, or the weight recorded with any warning), then
    ``after`` runs on the UI thread (a list reloads)."""
    app = app_of(node)
    ctx = app.ctx
    who = ctx.user
    if who is None:
        return

    def typed(entry: WeightEntry | None) -> None:
        if entry is not None:
            db = ctx.db
            node.app.run_worker(
                lambda: _store(node, db, who, subject_id, subject_code, entry, after),
                thread=True,
                exit_on_error=False,
                group="weight",
            )

    node.app.push_screen(WeightModal(subject_code, ctx.clock), typed)


def _store(
    node: DOMNode,
    db: Database,
    who: CurrentUser,
    subject_id: int,
    subject_code: str,
    entry: WeightEntry,
    after: Callable[[], None] | None,
) -> None:
    app = app_of(node)
    try:
        with db.session() as session:
            done = visits.record_weight(
                session,
                who,
                subject_id=subject_id,
                weight_text=entry.weight_text,
                measured_at=entry.measured_at,
                confirm_implausible=entry.confirmed,
            )
    except Exception as exc:  # every failure is shown (a refusal in its own words)
        node.app.call_from_thread(app.show_error, exc)
        return
    text = f"Weight {format_quantity(done.weight_kg, Dim.MASS)} of {subject_code} recorded."
    if done.warning:
        text += f" Warning: {done.warning}"
    node.app.call_from_thread(node.app.notify, text, title="Weight recorded", markup=False)
    if after is not None:
        node.app.call_from_thread(after)
