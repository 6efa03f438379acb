"""Weights from the lists that name a subject (design §6.8, issue #16): the ward's
patients and the pharmacy's allocation record a weight for a subject with or without a
visit, so a new subject's endotoxin result can be judged without the command line."""

from __future__ import annotations

import pytest
from sqlmodel import col, select
from textual.pilot import Pilot

from lottrack.storage.db import Database
from lottrack.storage.models import Subject, WeightMeasurement
from tests.tui.helpers import login, screen_text, settle, shown, type_text, until
from tui.app import LotTrackApp
from tui.common.weights import WeightsScreen
from tui.dialogs.weight import WeightModal
from tui.dialogs.weight_correction import WeightCorrectionModal
from tui.pharmacy.allocation import AllocationScreen

pytestmark = pytest.mark.asyncio


def weights_of(db: Database, code: str) -> list[str]:
    with db.reader() as s:
        return list(
            s.exec(
                select(WeightMeasurement.weight_text)
                .join(Subject, col(Subject.id) == col(WeightMeasurement.subject_id))
                .where(Subject.code == code)
                .order_by(col(WeightMeasurement.id))
            ).all()
        )


async def _weigh(pilot: Pilot[None], app: LotTrackApp, typed: str) -> None:
    await pilot.press("w")
    await settle(pilot)
    assert isinstance(app.screen, WeightsScreen)
    await pilot.press("a")
    await settle(pilot)
    assert isinstance(app.screen, WeightModal)
    await type_text(pilot, typed)
    await pilot.press("enter")
    await settle(pilot)


async def test_the_ward_records_a_weight_of_a_patient_without_a_visit(
    app: LotTrackApp, demo_db: Database
) -> None:
    before = weights_of(demo_db, "TLS-001")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await login(pilot, "ward")
        text = screen_text(app)
        assert "TLS-001" in text
        assert "no visit scheduled" in text
        assert "w Weights" in text  # the footer offers it
        await pilot.press("enter")  # the first row: TLS-001, no visit
        await settle(pilot)
        assert "Press w for the patient's weights" in shown(app, ".pane-note")
        await _weigh(pilot, app, "71.5 kg")
        await until(
            pilot,
            lambda: len(weights_of(demo_db, "TLS-001")) == len(before) + 1,
            "the weight stored",
        )
        await settle(pilot)
        assert any(n.message == "Weight 71.5 kg of TLS-001 recorded." for n in app._notifications)
    assert weights_of(demo_db, "TLS-001")[-1] == "71.5 kg"


async def test_the_pharmacy_records_a_weight_from_the_allocation(
    app: LotTrackApp, demo_db: Database
) -> None:
    before = weights_of(demo_db, "TLS-001")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await login(pilot, "pharm")
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, AllocationScreen)
        await _weigh(pilot, app, "250 kg")  # implausible: a second Enter confirms it
        assert isinstance(app.screen, WeightModal)
        await pilot.press("enter")
        await until(
            pilot,
            lambda: len(weights_of(demo_db, "TLS-001")) == len(before) + 1,
            "the weight stored",
        )
        await settle(pilot)
        assert any("outside the usual 30–200 kg" in n.message for n in app._notifications)
    assert weights_of(demo_db, "TLS-001")[-1] == "250 kg"


async def test_blinded_lab_and_qa_are_not_offered_a_weight(app: LotTrackApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot, "tech")
        assert "w Weights" not in screen_text(app)


async def test_the_ward_corrects_a_weight_and_sees_the_endotoxin_judged_again(
    app: LotTrackApp, demo_db: Database
) -> None:
    # The demo's TLS-002 (82 kg, one 50 mL bag) has an endotoxin result of 0.25 EU/mL.
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await login(pilot, "ward")
        await pilot.press("down")  # TLS-002, the second patient (TLS-001 has no visit)
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, WeightsScreen)
        assert "82 kg" in screen_text(app)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, WeightCorrectionModal)
        await type_text(pilot, "40 kg")
        await pilot.press("tab")
        await type_text(pilot, "scale read in lb")
        await pilot.press("enter")
        await until(
            pilot, lambda: weights_of(demo_db, "TLS-002")[-1] == "40 kg", "the correction stored"
        )
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "Weight corrected to 40 kg." in text
        assert "endotoxin result 0.25 EU/mL judged again against ≤ 4 EU/mL: it conforms" in text
        await pilot.press("x")
        await settle(pilot)
        await type_text(pilot, "wrong patient")
        await pilot.press("enter")
        await settle(pilot)
        assert "Record the right weight first" in " ".join(screen_text(app).split())
    assert weights_of(demo_db, "TLS-002")[-1] == "40 kg"
