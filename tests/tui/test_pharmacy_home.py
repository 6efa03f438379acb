"""The pharmacy's home: the soonest visits due, and how many are planned in all."""

from __future__ import annotations

import pytest
from sqlmodel import select
from textual.widgets import DataTable

from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import User
from lottrack.trial import listings
from tests.tui.helpers import login, settle, shown, tables_painted, until
from tui.app import LotTrackApp
from tui.panes import pharmacist
from tui.pharmacy.visit import PharmacyVisitScreen

pytestmark = pytest.mark.asyncio


async def test_the_home_lists_the_soonest_visits_and_says_how_many_are_planned(
    app: LotTrackApp, demo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site with many subjects plans more visits than the home lists (200; 2 here): the
    hint says how many there are, so no planned visit looks forgotten."""
    monkeypatch.setattr(pharmacist, "PAGE_SIZE", 2)
    with demo_db.reader() as s:
        pharm = CurrentUser.of(s.exec(select(User).where(User.username == "pharm")).one())
        due = listings.visits_due(s, pharm)
    assert due.total > 2
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        pane = app.screen.query_one(pharmacist.VisitsDuePane)
        table = pane.query_one(DataTable)
        await until(pilot, lambda: tables_painted(app), "the soonest visits on screen")
        assert [
            (str(table.get_row_at(n)[0]), str(table.get_row_at(n)[1]))
            for n in range(table.row_count)
        ] == [(d.subject_code, str(d.period)) for d in due.visits[:2]]
        hint = " ".join(shown(app, ".pane-hint").split())
        assert hint.startswith(f"The 2 soonest of {due.total} planned visits")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PharmacyVisitScreen)
        assert app.screen.visit_id == due.visits[0].visit_id


async def test_the_home_keeps_its_hint_when_every_visit_is_listed(
    app: LotTrackApp, demo_db: Database
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "pharm")
        await until(pilot, lambda: tables_painted(app), "the visits due on screen")
        assert " ".join(shown(app, ".pane-hint").split()) == pharmacist.VisitsDuePane.HINT
