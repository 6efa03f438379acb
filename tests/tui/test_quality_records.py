"""Investigations and deviations from the terminal (design §6.6, §6.7): a technician
records a retest against an open investigation and opens a deviation; QA closes both with
a signed conclusion and the lot becomes ready."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from textual.widgets import Checkbox, DataTable, Input, Select

from lottrack.manufacturing import qc
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import Deviation, Investigation, InvestigationRetest, User
from tests.conftest import verify_ok
from tests.tui.helpers import (
    PASSWORDS,
    frozen_clock,
    login,
    login_and_open,
    screen_text,
    settle,
    shown,
)
from tests.tui.lot_data import private_copy
from tests.tui.test_corrections import open_lot
from tests.tui.test_forms import fill, opened, save
from tests.tui.test_qa_review import sign
from tui.app import make_app
from tui.dialogs.signature import SignatureModal
from tui.lot.quality_forms import CloseRecordForm, DeviationForm
from tui.manufacturing.forms.qc_result import QCResultForm
from tui.qa.review import QAReviewScreen

pytestmark = pytest.mark.asyncio

QC_TAB = 4


@pytest.fixture
def lots_db(tmp_path: Path) -> Iterator[tuple[Database, dict[str, int]]]:
    db, ids = private_copy(tmp_path)
    yield db, ids
    db.dispose()


def oos_cd34(db: Database, lot_id: int) -> int:
    """Another terminal records CD34 3 % (out of specification) on the lot; returns the
    investigation it opened."""
    with db.session() as s:
        tech = CurrentUser.of(s.exec(select(User).where(User.username == "tech2")).one())
        qc.record_result(
            s,
            tech,
            lot_id=lot_id,
            test="cd34",
            value_text="3 %",
            tested_at=frozen_clock() - dt.timedelta(hours=2),
            method="flow cytometry",
        )
    with db.reader() as s:
        inv = s.exec(select(Investigation).where(Investigation.lot_id == lot_id)).one()
    assert inv.id is not None
    return inv.id


async def test_a_technician_retests_against_the_investigation_and_opens_a_deviation(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-102"]
    inv_id = oos_cd34(db, lot_id)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot, "tech")
        await open_lot(pilot, lot_id, QC_TAB)
        assert shown(app, "#lot-readiness").startswith(
            f"OPEN, BLOCKS RELEASE: investigation #{inv_id} open: CD34 3 % (limit ≤ 2 %)"
        )
        form = await opened(pilot, "t", QCResultForm)
        form.query_one("#test", Select).value = "cd34"
        await settle(pilot)
        assert f"Investigation #{inv_id} is open" in shown(app, "#limit")
        assert form.query_one("#retest-reason", Input).display
        await fill(pilot, "value-num", "0.8 %")
        await save(pilot)
        assert "Retest reason: nothing was typed" in shown(app, "#form-message")
        await fill(pilot, "retest-reason", "tube of another sample stained; fresh aliquot")
        await save(pilot)
        await settle(pilot)
        table = app.screen.query_one("#lot-qc", DataTable)
        # A long note wraps inside its column (#19): read each cell with its lines joined.
        rows = [
            [" ".join(str(c).split()) for c in table.get_row_at(r)] for r in range(table.row_count)
        ]
        cd34 = {r[1]: r[5] for r in rows if r[0] == "CD34"}
        assert set(cd34) == {"0.2 %", "3 %", "0.8 %"}  # the original stays
        assert cd34["3 %"] == f"opened investigation #{inv_id} (open)"
        assert cd34["0.8 %"].startswith(
            f"retest in open investigation #{inv_id}; reason: tube of another sample stained"
        )
        # A deviation, from the batch record.
        await opened(pilot, "o", DeviationForm)
        await fill(pilot, "description", "Flow cytometer calibration overdue by one day")
        await fill(pilot, "impact", "None expected; beads within range")
        await save(pilot)
        assert "Corrective action: nothing was typed" in shown(app, "#form-message")
        await fill(pilot, "corrective-action", "Calibration done; schedule alarm set")
        await save(pilot)
        await settle(pilot)
        readiness = shown(app, "#lot-readiness")
        assert "deviation #1 open: Flow cytometer calibration overdue" in readiness
    with db.reader() as s:
        (link,) = s.exec(select(InvestigationRetest)).all()
        (dev,) = s.exec(select(Deviation)).all()
    assert link.reason == "tube of another sample stained; fresh aliquot"
    assert (dev.planned, dev.corrective_action) == (False, "Calibration done; schedule alarm set")
    verify_ok(db)


async def test_qa_closes_the_investigation_and_the_deviation_with_signatures(
    lots_db: tuple[Database, dict[str, int]],
) -> None:
    db, ids = lots_db
    lot_id = ids["TLS-102"]
    inv_id = oos_cd34(db, lot_id)
    with db.session() as s:
        tech = CurrentUser.of(s.exec(select(User).where(User.username == "tech2")).one())
        qc.record_result(
            s,
            tech,
            lot_id=lot_id,
            test="cd34",
            value_text="0.8 %",
            tested_at=frozen_clock() - dt.timedelta(hours=1),
            investigation_id=inv_id,
            reason="fresh aliquot",
        )
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await login_and_open(pilot, "qa", QAReviewScreen(lot_id))
        assert "r Release" not in screen_text(app).splitlines()[-1]
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, CloseRecordForm)
        assert f"Investigation #{inv_id}: CD34 3 % (limit ≤ 2 %) — OPEN" in screen_text(app)
        form.query_one("#lab-error", Checkbox).value = True
        await fill(pilot, "conclusion", "wrong tube stained; worksheet shows the swap")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SignatureModal)
        assert "I reviewed this record and close it" in screen_text(app)
        await sign(pilot, "qa", PASSWORDS["qa"])
        assert isinstance(app.screen, QAReviewScreen)
        assert shown(app, "#review-readiness") == "Every required result is in and conforms."
        assert "r Release" in screen_text(app).splitlines()[-1]
    with db.reader() as s:
        inv = s.get(Investigation, inv_id)
    assert inv is not None
    assert (inv.conclusion, inv.conclusion_text) == (
        "lab-error",
        "wrong tube stained; worksheet shows the swap",
    )
    verify_ok(db)
