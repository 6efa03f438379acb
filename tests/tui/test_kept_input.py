"""Nothing typed is lost (issue 19): a cancelled signature at the end of an infusion
keeps the end time, the reaction and its grade for the dialog when it reopens."""

from __future__ import annotations

import pytest
from sqlmodel import select
from textual.widgets import Input, Select

from lottrack.storage.db import Database
from lottrack.storage.models import Infusion, ProductUnit
from tests.tui import trial_data
from tests.tui.helpers import PASSWORDS, frozen_clock, login, settle, shown, type_text
from tests.tui.trial_data import DOB, TrialIds
from tui.app import make_app
from tui.dialogs.signature import SignatureModal
from tui.ward.infusion_end import InfusionEndModal
from tui.ward.visit import WardVisitScreen
from tui.widgets.moment_input import MomentField

pytestmark = pytest.mark.asyncio
trial_template, trial = trial_data.trial_template, trial_data.trial


async def test_a_cancelled_signature_keeps_the_reaction_typed(
    trial: tuple[Database, TrialIds],
) -> None:
    db, ids = trial
    with db.reader() as s:
        bag = s.get(ProductUnit, ids.bags["TLS-103"])
        assert bag is not None
        kit = bag.kit_code
    app = make_app(db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        for key in ("down",) * 4 + ("enter",):  # TLS-103, period 1: at the bedside
            await pilot.press(key)
        await settle(pilot)
        assert isinstance(app.screen, WardVisitScreen)
        await pilot.press("b")
        await settle(pilot)
        for value in ("TLS-103", DOB["TLS-103"].isoformat(), kit):
            await type_text(pilot, value)
            await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("enter")  # started now (the clocks are frozen at 09:30)
        await settle(pilot)
        assert shown(app, "#trial-status") == "Infusion started."

        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, InfusionEndModal)
        app.screen.query_one("#end-at", MomentField).text = ""
        await type_text(pilot, "09:30")
        await pilot.press("enter")
        await type_text(pilot, "flushing, mild chills")
        app.screen.query_one("#grade", Select).value = 1
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SignatureModal), shown(app, "#dialog-message")
        await pilot.press("escape")  # not signed now
        await settle(pilot)
        assert isinstance(app.screen, WardVisitScreen)

        await pilot.press("e")  # the dialog again: what was typed is still there
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, InfusionEndModal)
        assert dialog.query_one("#end-at", MomentField).text == "09:30"
        assert dialog.query_one("#reactions", Input).value == "flushing, mild chills"
        assert dialog.query_one("#grade", Select).value == 1
        await pilot.press("ctrl+s")
        await settle(pilot)
        await type_text(pilot, "ward")
        await pilot.press("enter")
        await type_text(pilot, PASSWORDS["ward"])
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app, "#trial-status") == "Infusion complete and signed."
        assert isinstance(app.screen, WardVisitScreen)
        assert app.screen.end_draft is None  # signed: the next visit starts empty
    with db.reader() as s:
        infusion = s.exec(select(Infusion).where(Infusion.reactions != "")).one()
        assert (infusion.reactions, infusion.reaction_grade) == ("flushing, mild chills", 1)
        assert infusion.ended_at is not None
