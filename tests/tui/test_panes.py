"""Role panes show what the database holds, and nothing a blinded role may not see."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from lottrack.storage.db import Database
from tests.tui.helpers import login, screen_text
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
