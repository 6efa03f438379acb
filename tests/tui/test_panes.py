"""Role panes show what the database holds, and nothing a blinded role may not see."""

from __future__ import annotations

import pytest
from sqlmodel import select
from textual.widgets import DataTable

from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import User
from lottrack.views import listings
from tests.tui.helpers import login, screen_text, settle, shown, tables_painted, until
from tui.app import LotTrackApp
from tui.panes import lot_pane
from tui.panes import qa as qa_pane
from tui.panes.clinician import PatientsPane
from tui.qa.review import QAReviewScreen

pytestmark = pytest.mark.asyncio


async def test_ward_sees_subjects_and_visits_but_no_arm(
    app: LotTrackApp, demo_db: Database
) -> None:
    """The demo holds MSC and placebo visits in every state; the ward list names none."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        pane = app.screen.query_one(PatientsPane)
        table = pane.query_one(DataTable)
        assert table.display
        subjects = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert {"TLS-005", "TLS-008", "TLS-009", "TLS-010"} <= subjects
        text = screen_text(app)
        assert "TLS-005" in text
        assert "MSC" not in text
        assert "placebo" not in text.lower()
        assert app.focused is table  # keyboard-first: the list takes the focus


async def test_enter_on_a_patient_without_a_visit_says_why_under_the_list(
    app: LotTrackApp, demo_db: Database
) -> None:
    """At 80x24 the reason is on the pane's own line, not a toast over the list's heading
    and State column; moving the cursor clears it."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        pane = app.screen.query_one(PatientsPane)
        table = pane.query_one(DataTable)
        await until(pilot, lambda: tables_painted(app), "the patients' rows on screen")
        without = pane.visit_ids.index(None)
        assert pane.subjects[without] is not None, "the demo has a patient without a visit"
        table.move_cursor(row=without)
        await pilot.press("enter")
        await settle(pilot)
        assert "No visit is scheduled for this patient" in " ".join(
            shown(app, ".pane-note").split()
        )
        assert not app._notifications, "a toast would cover the list"
        text = screen_text(app)
        assert "Patients and visits" in text
        assert "State" in text
        assert "Press w for the patient's weights." in " ".join(text.split())
        await pilot.press("up" if without else "down")
        await settle(pilot)
        assert not pane.query_one(".pane-note").display


async def test_qa_home_lists_the_oldest_lots_and_says_how_many_wait(
    app: LotTrackApp, demo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At N = 1000 the queue holds hundreds of lots: the home lists the oldest (a page of
    100; 2 here, on the demo's 4) and its hint says how many wait in all."""
    monkeypatch.setattr(lot_pane, "PAGE_SIZE", 2)
    with demo_db.reader() as s:
        qa = CurrentUser.of(s.exec(select(User).where(User.username == "qa")).one())
        queue = listings.review_queue(s, qa)
    assert len(queue) > 2
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        pane = app.screen.query_one(qa_pane.LotsAwaitingReviewPane)
        table = pane.query_one(DataTable)
        await until(pilot, lambda: tables_painted(app), "the oldest lots on screen")
        assert [str(table.get_row_at(n)[0]) for n in range(table.row_count)] == [
            i.lot_number for i in queue[:2]
        ]
        hint = " ".join(shown(app, ".pane-hint").split())
        assert hint.startswith(f"The 2 oldest of {len(queue)} lots awaiting review.")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QAReviewScreen)


async def test_lab_home_lists_the_longest_waiting_lots_and_says_how_many(
    app: LotTrackApp, demo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At N = 1000 about 4 000 lots have something due: the technician's home lists the
    longest waiting (a page; 2 here) and its hint says how many in all; Enter opens one."""
    from tui.manufacturing.lot_detail import LotDetailScreen
    from tui.panes.technician import LotsInProcessPane

    monkeypatch.setattr(lot_pane, "PAGE_SIZE", 2)
    with demo_db.reader() as s:
        tech = CurrentUser.of(s.exec(select(User).where(User.username == "tech")).one())
        due = listings.technician_worklist(s, tech)
    assert len(due) > 2
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        pane = app.screen.query_one(LotsInProcessPane)
        table = pane.query_one(DataTable)
        await until(pilot, lambda: tables_painted(app), "the longest waiting lots on screen")
        assert [str(table.get_row_at(n)[0]) for n in range(table.row_count)] == [
            i.lot_number for i in due[:2]
        ]
        hint = " ".join(shown(app, ".pane-hint").split())
        assert hint.startswith(f"The 2 longest waiting of {len(due)} lots with something due.")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LotDetailScreen)
        assert app.screen.lot_id == due[0].lot_id
