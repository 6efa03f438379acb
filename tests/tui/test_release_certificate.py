"""QA prints a released lot's certificate from the lot screen; a reprint asks why."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from lottrack.storage.db import Database
from lottrack.storage.models import Certificate, Lot
from lottrack.views.documents.issue import verify_file
from lottrack.views.documents.signing import ensure_facility_key
from tests.tui.helpers import login_and_open, settle
from tui.app import LotTrackApp
from tui.manufacturing.lot_detail import LotDetailScreen

pytestmark = pytest.mark.asyncio


async def test_qa_issues_and_reprints_a_release_certificate(
    app: LotTrackApp, demo_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTTRACK_DOCUMENTS_DIR", str(tmp_path / "docs"))
    monkeypatch.setenv("LOTTRACK_KEY_DIR", str(tmp_path / "keys"))
    ensure_facility_key(tmp_path / "keys")  # as `lottrack init` / `lottrack demo` do
    with demo_db.reader() as s:
        lot = s.exec(select(Lot).where(Lot.status == "released")).first()
        assert lot is not None
        assert lot.id is not None
    async with app.run_test(size=(120, 40)) as pilot:
        await login_and_open(pilot, "qa", LotDetailScreen(lot.id), "d")
        first = tmp_path / "docs" / f"release-{lot.lot_number}.pdf"
        assert first.exists()
        await pilot.press("d")  # again: a reprint needs a reason
        await settle(pilot)
        await pilot.press(*"replacement for a torn copy")
        await pilot.press("enter")
        await settle(pilot)
    copy = tmp_path / "docs" / f"release-{lot.lot_number}-COPY1.pdf"
    assert copy.exists()
    with demo_db.reader() as s:
        issued = s.exec(
            select(Certificate).where(
                Certificate.record_id == lot.id, Certificate.kind == "release"
            )
        ).all()
        assert sorted(c.copy_number for c in issued) == [0, 1]
        assert verify_file(s, copy).ok
