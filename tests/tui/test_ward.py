"""Ward screens (blinded): the bedside check refuses a wrong kit code, weights warn."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import ColumnElement
from sqlmodel import col, func, select
from textual.pilot import Pilot

from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Dispensing, Infusion, WeightMeasurement
from tests.conftest import verify_ok
from tests.tui import trial_data
from tests.tui.helpers import frozen_clock, login, screen_text, settle, shown, type_text
from tests.tui.trial_data import DOB, TrialIds
from tui.app import LotTrackApp, make_app
from tui.dialogs.weight import WeightModal
from tui.ward.visit import WardVisitScreen

pytestmark = pytest.mark.asyncio
Trial = tuple[Database, TrialIds]
trial_template, trial = trial_data.trial_template, trial_data.trial


async def open_visit(pilot: Pilot[None], app: LotTrackApp, row: int) -> None:
    """From the ward's home, open the visit on ``row`` of the patients list."""
    await login(pilot, "ward")
    for _ in range(row):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, WardVisitScreen)


def count(db: Database, model: type, *where: ColumnElement[bool] | bool) -> int:
    with db.reader() as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


async def test_a_wrong_kit_code_is_refused_and_nothing_is_infused(trial: Trial) -> None:
    db, _ = trial
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_visit(pilot, app, 4)  # TLS-103, period 1: verified, at the bedside
        assert "TLS-103" in screen_text(app)
        await pilot.press("b")
        await pilot.pause()
        for value in ("TLS-103", DOB["TLS-103"].isoformat(), "K-WRONG234"):
            await type_text(pilot, value)
            await pilot.press("enter")
        await settle(pilot)
        status = shown(app, "#trial-status")
        assert status == (
            "Bedside check failed: kit code 'K-WRONG234' is not the bag "
            "dispensed for this visit. Do not infuse; call the pharmacy."
        )
        text = screen_text(app)
        assert "Identity mismatch" in text  # the notification's title
        assert "State: ready for bedside check" in text
        assert "s Start" not in text  # nothing to start
    assert count(db, Infusion) == 0
    assert count(db, AuditEvent, AuditEvent.action == "bedside-mismatch") == 1
    verify_ok(db)


async def test_a_weight_outside_the_usual_range_is_recorded_with_its_warning(
    trial: Trial,
) -> None:
    db, _ = trial
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_visit(pilot, app, 2)  # TLS-102, period 1
        await pilot.press("w")
        await pilot.pause()
        await type_text(pilot, "25 kg")
        await pilot.press("enter")  # outside 30–200 kg: the dialog asks to confirm first
        await settle(pilot)
        assert isinstance(app.screen, WeightModal)
        assert "again to confirm" in shown(app, "#dialog-message")
        await pilot.press("enter")  # confirmed: recorded (measured now)
        await settle(pilot)
        assert shown(app, "#trial-status").startswith(
            "Weight 25 kg recorded. Warning: Weight 25 kg is outside the usual 30–200 kg"
        )
        assert shown(app, "#wv-weight").startswith("Weight: 25 kg, measured 2025-03-14 09:30 CET")
        await pilot.press("w")
        await pilot.pause()
        await type_text(pilot, "70 mL")
        await pilot.press("enter")
        await pilot.pause()
        assert 'Weight: "70 mL" is a volume; expected a mass' in screen_text(app)
        await pilot.press("escape")  # nothing recorded
    with db.reader() as s:
        texts = s.exec(
            select(WeightMeasurement.weight_text).order_by(col(WeightMeasurement.id))
        ).all()
    assert texts[-1] == "25 kg"
    verify_ok(db)


async def test_a_bag_past_its_use_by_is_stopped_before_the_identity_is_typed(
    trial: Trial,
) -> None:
    db, ids = trial
    with db.session() as s:  # TLS-103's bag waited on the ward
        audit.set_actor(s, None, "system:test")
        with audit.reason(s, "test: the bag waited on the ward"):
            for dispensing in s.exec(select(Dispensing)):
                dispensing.use_by = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_visit(pilot, app, 4)  # TLS-103, period 1: verified, at the bedside
        assert shown(app, "#wv-next") == (
            "Stop: the bag has passed its use-by time; do not infuse; call the pharmacy."
        )
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, WardVisitScreen)  # no identifiers asked for
        assert shown(app, "#trial-status") == (
            "Cannot start the bedside check: the bag has passed its use-by time; do not "
            "infuse; call the pharmacy."
        )
    assert count(db, Infusion) == 0
