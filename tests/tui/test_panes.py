"""Role panes show what the database holds, and nothing a blinded role may not see."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select
from textual.widgets import DataTable

from lottrack import audit
from lottrack.db import Database
from lottrack.models import Allocation, Site, Subject, Visit
from tests.tui.helpers import login, screen_text
from tui.app import LotTrackApp
from tui.panes.clinician import PatientsPane

pytestmark = pytest.mark.asyncio


def add_subject_with_visit(db: Database) -> None:
    """One subject, its allocation (which the ward must never see) and a planned visit."""
    with db.session() as session:
        audit.set_actor(session, None, "system:test")
        site = session.exec(select(Site)).one()
        subject = Subject(code="TLS-001", initials="AB", date_of_birth=dt.date(1961, 5, 2),
                          site_id=site.id, coi_id="COI-TLS-001")
        session.add(subject)
        session.flush()
        session.add(Allocation(subject_id=subject.id, sequence="MSC-first", source="test"))
        session.add(Visit(subject_id=subject.id, period=1, planned_date=dt.date(2025, 3, 17)))


async def test_ward_sees_subjects_and_visits_but_no_arm(
    app: LotTrackApp, demo_db: Database
) -> None:
    add_subject_with_visit(demo_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "ward")
        pane = app.screen.query_one(PatientsPane)
        table = pane.query_one(DataTable)
        assert table.display
        assert table.row_count == 1
        assert [str(c) for c in table.get_row_at(0)] == [
            "TLS-001", "AB", "1", "2025-03-17", "planned"]
        text = screen_text(app)
        assert "TLS-001" in text
        assert "MSC" not in text
        assert "placebo" not in text.lower()
        assert app.focused is table  # keyboard-first: the list takes the focus
