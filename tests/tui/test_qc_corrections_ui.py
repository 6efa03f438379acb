"""Correcting and voiding QC results from the QC tab of a lot's batch record (design §2,
§3, §6.1, §6.2): keys pressed on the screen, asserted on the screen and in the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from lottrack.manufacturing import lots
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.release import disposition
from lottrack.storage.db import Database
from lottrack.storage.models import Lot, QCResult, SpecItem, User
from tests.conftest import verify_ok
from tests.tui.helpers import PASSWORDS, frozen_clock, login, screen_text, settle, shown
from tests.tui.lot_data import private_copy
from tests.tui.test_corrections import (
    cell,
    dialog_text,
    give_reason,
    keys,
    last_event,
    open_lot,
    trail_length,
)
from tests.tui.test_forms import fill, opened, save
from tui.app import make_app
from tui.manufacturing.forms.correction import QCCorrectionForm
from tui.manufacturing.lot_detail import LotDetailScreen
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField

pytestmark = pytest.mark.asyncio

QC_TAB = 4


@pytest.fixture
def lots_db(tmp_path: Path) -> Iterator[tuple[Database, dict[str, int]]]:
    db, ids = private_copy(tmp_path)
    yield db, ids
    db.dispose()


def result(db: Database, lot_id: int, code: str) -> QCResult:
    """The lot's (only) result for ``code``, as stored now."""
    with db.reader() as s:
        row = s.exec(
            select(QCResult).join(SpecItem).where(QCResult.lot_id == lot_id, SpecItem.code == code)
        ).one()
        s.expunge(row)
        return row


def lot_status(db: Database, lot_id: int) -> str:
    with db.reader() as s:
        lot = s.get(Lot, lot_id)
        assert lot is not None
        return lot.status


async def cursor_on(pilot: Pilot[None], test_name: str) -> None:
    """Move the cursor of the QC table down to the row of ``test_name``."""
    table = pilot.app.screen.query_one("#lot-qc", DataTable)

    def name(row: int) -> str:  # long names wrap inside their column (80 columns)
        return " ".join(str(table.get_row_at(row)[0]).split())

    names = [name(r) for r in range(table.row_count)]
    for _ in range(names.index(test_name) - table.cursor_row):
        await pilot.press("down")
    await pilot.pause()
    assert name(table.cursor_row) == test_name


async def test_a_result_is_corrected_with_a_reason_and_judged_again(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-103"]  # awaiting release; viability typed 75 % (out of specification)
    reason = "transcription error: the worksheet reads 85 %"
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, lot_id, QC_TAB)
        assert "OUT OF SPECIFICATION: Viability, fresh final product 75 %" in shown(
            app, "#lot-readiness"
        )
        await cursor_on(pilot, "Viability, fresh final product")
        assert keys(detail) == {"e", "x"}
        form = await opened(pilot, "e", QCCorrectionForm)
        assert form.query_one("#value-num", QuantityField).text == "75 %"
        assert form.query_one("#method", Input).value == "per SOP"
        assert "≥ 80 %" in shown(app, "#limit")
        await fill(pilot, "value-num", "85 %")
        await save(pilot)
        assert "Changed: result." in dialog_text(app)
        await give_reason(pilot, reason)
        assert app.screen is detail, screen_text(app)
        assert shown(app, "#lot-readiness") == "Every required result is in and conforms."
        assert cell(app, "lot-qc", 0, 1) == "85 %"
        assert cell(app, "lot-qc", 0, 2) == "✓ conforms"
    stored = result(db, lot_id, "viability_fresh")
    assert (stored.value_text, stored.value_num, stored.conforms) == ("85 %", 85.0, True)
    event = last_event(db, "qc_result")
    assert (event.action, event.username, event.reason) == ("update", "tech", reason)
    changes = json.loads(event.changes)
    assert changes["value_text"] == ["75 %", "85 %"]
    assert changes["conforms"] == [False, True]
    verify_ok(db)


async def test_correcting_a_released_lot_sends_it_back_and_invalidates_the_release(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-104"]  # released, with a valid signature
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, lot_id, QC_TAB)
        await cursor_on(pilot, "CD73")
        await opened(pilot, "e", QCCorrectionForm)
        await fill(pilot, "value-num", "91.9 %")
        await save(pilot)
        assert (
            "is released: the correction sends it back to awaiting release and "
            "invalidates its release signature."
        ) in dialog_text(app)
        await give_reason(pilot, "digits transposed: printout reads 91.9 %")
        assert app.screen is detail, screen_text(app)
        assert "awaiting-release" in shown(app, "#lot-head")
        assert "OUT OF SPECIFICATION: CD73 91.9 %" in shown(app, "#lot-readiness")
        await pilot.press("6")
        await settle(pilot)
        assert cell(app, "lot-decisions", 0, 2) == "INVALIDATED"
    assert lot_status(db, lot_id) == lots.AWAITING_RELEASE
    assert result(db, lot_id, "cd73").conforms is False
    assert "batch record corrected after release" in last_event(db, "lot").reason
    verify_ok(db)


async def test_a_refused_correction_is_marked_on_its_field_and_stores_nothing(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-102"]  # awaiting release, every result conforming
    before, recorded = trail_length(db), result(db, lot_id, "viability_fresh")
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        await open_lot(pilot, lot_id, QC_TAB)
        form = await opened(pilot, "e", QCCorrectionForm)  # viability, first row
        # Nothing changed: said at once, no reason asked.
        await save(pilot)
        assert app.screen is form
        assert shown(app, "#form-message").startswith(
            "Invalid input: Correction: no value of the Viability, fresh final product "
            "result was changed"
        )
        # A volume as a percentage: marked on the field before any reason is asked.
        await fill(pilot, "value-num", "70 mL")
        await save(pilot)
        assert app.screen is form
        assert '"70 mL" is a volume' in shown(app, "#value-num .qf-error")
        await fill(pilot, "value-num", "95 %")
        # A test time in the future: the service refuses, after the reason, on the field.
        await fill(pilot, "tested-at", "2099-01-01 10:00")
        await save(pilot)
        await give_reason(pilot, "typed the wrong value")
        assert app.screen is form
        refusal = "Tested at: the time is in the future."
        assert refusal in shown(app, "#form-message")
        assert "Nothing was saved." in shown(app, "#form-message")
        assert form.query_one("#tested-at", MomentField).has_class("-invalid")
        assert shown(app, "#tested-at .mf-error") == refusal
        # Cancelling the reason saves nothing either.
        await save(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert shown(app, "#form-message") == "Nothing was saved: a correction needs a reason."
    assert trail_length(db) == before
    stored = result(db, lot_id, "viability_fresh")
    assert (stored.value_text, stored.tested_at, stored.conforms) == (
        recorded.value_text,
        recorded.tested_at,
        True,
    )


async def test_a_voided_result_stays_marked_void_and_counts_as_missing(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-102"]  # ready for release
    reason = "entered on the wrong lot (sample of TLS-103)"
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, lot_id, QC_TAB)
        assert shown(app, "#lot-readiness") == "Every required result is in and conforms."
        await cursor_on(pilot, "Mycoplasma")
        await pilot.press("x")
        await settle(pilot)
        words = dialog_text(app)
        assert "Void the Mycoplasma result not detected of 2025-03-14" in words
        assert "counts as missing for release" in words
        await pilot.press("enter")  # no reason: refused in the dialog
        await pilot.pause()
        assert "Give a reason." in screen_text(app)
        await give_reason(pilot, reason)
        assert app.screen is detail
        assert shown(app, "#lot-readiness") == "Missing: Mycoplasma"
        table = app.screen.query_one("#lot-qc", DataTable)
        row = next(r for r in range(table.row_count) if cell(app, "lot-qc", r, 0) == "Mycoplasma")
        assert cell(app, "lot-qc", row, 1) == "not detected"  # still shown
        assert cell(app, "lot-qc", row, 2) == "VOID"
        assert cell(app, "lot-qc", row, 5) == f"VOID: {reason}"
        await cursor_on(pilot, "Mycoplasma")
        assert keys(detail) == set()  # a void result is neither corrected nor voided again
    assert result(db, lot_id, "mycoplasma").voided_reason == reason
    event = last_event(db, "qc_result")
    assert (event.action, event.username, event.reason) == ("void", "tech", reason)
    assert json.loads(event.changes) == {"voided_reason": [None, reason]}
    verify_ok(db)


async def test_keys_follow_roles_and_the_lot_state(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")  # QA reviews results; it corrects none
        detail = await open_lot(pilot, ids["TLS-102"], QC_TAB)
        assert keys(detail) == set()
    with db.session() as s:  # QA rejects TLS-103: its record is final
        qa = CurrentUser.of(s.exec(select(User).where(User.username == "qa")).one())
        disposition.reject(
            s,
            qa,
            ids["TLS-103"],
            Credentials("qa", PASSWORDS["qa"]),
            "viability out of specification",
        )
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        detail = await open_lot(pilot, ids["TLS-106"], QC_TAB)  # quarantined
        assert keys(detail) == {"e", "x"}
        await pilot.press("escape")
        await settle(pilot)
        detail = await open_lot(pilot, ids["TLS-103"], QC_TAB)  # rejected
        assert isinstance(detail, LotDetailScreen)
        assert keys(detail) == set()
