"""Role panes show what the database holds, and nothing a blinded role may not see."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from lottrack.storage.db import Database
from tests.tui.helpers import login, screen_text, settle, shown, tables_painted, until
from tui.app import LotTrackApp
from tui.panes.clinician import PatientsPane

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
