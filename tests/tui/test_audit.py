"""The Audit screen: verification in a worker, intact or the problems; QA and admin only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from textual.widgets import DataTable

from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.views.listings.audit_log import audit_log
from tests.tui.helpers import filter_audit, login, screen_text, settle, shown, type_text
from tui.app import LotTrackApp
from tui.dialogs.text_view import TextViewModal
from tui.home import HomeScreen
from tui.qa.audit import PAGE, AuditScreen

pytestmark = pytest.mark.asyncio


async def test_audit_screen_shows_intact(app: LotTrackApp, demo_db: Database) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        assert not app.screen.query_one("#audit-loading").display
        with demo_db.engine.connect() as conn:
            report = audit.verify(conn)
            last = conn.execute(
                text("SELECT action, username, reason FROM audit_event ORDER BY seq DESC LIMIT 1")
            ).one()
        assert report.ok
        # The screen counted the trail before its own run was recorded in it.
        assert tuple(last) == ("audit-verify", "qa", "intact")
        assert (
            f"Audit trail intact: {report.events - 1} events, {report.rows} records "
            "match." in screen_text(app)
        )


async def test_the_audit_screen_opens_again_after_a_verification(app: LotTrackApp) -> None:
    """The newest event is then the verification itself, whose changes are counts."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        for _ in range(2):
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, AuditScreen)
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert "audit-verify" in shown(app, "#audit-detail")
        assert "problems=0" in shown(app, "#audit-detail")


async def test_audit_screen_shows_a_tampered_record(app: LotTrackApp, demo_db: Database) -> None:
    with demo_db.engine.begin() as conn:
        conn.execute(text("UPDATE user SET full_name = 'Mallory' WHERE username = 'tech'"))
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("a")
        await settle(pilot)
        assert "Audit trail BROKEN: 1 problem(s)" in shown(app, "#audit-result")
        assert "changed behind the application's back" in shown(app, "#audit-problem-list")


async def test_technician_has_no_audit_screen(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        assert "a" not in app.screen.active_bindings
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_an_event_s_moments_read_in_the_site_zone(app: LotTrackApp) -> None:
    """A harvest's collection time, stored as UTC ISO text, is shown as the rest of the
    screen shows times: in the site's zone, to the second."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("a")
        await settle(pilot)
        await filter_audit(pilot, "record", "Harvest of TLS-001")
        table = app.screen.query_one("#audit-events", DataTable)
        assert table.row_count >= 1
        table.focus()
        await pilot.pause()
        detail = " ".join(shown(app, "#audit-detail").split())
        zone = app.ctx.clock().strftime("%Z")
        assert re.search(rf"collected_at=\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {zone}", detail), detail
        assert not re.search(r"\d\d:\d\d:\d\d(\.\d+)?Z", detail), detail


async def test_a_keyboard_user_filters_by_subject_and_reads_names_not_ids(
    app: LotTrackApp,
) -> None:
    """/ goes to the filter; a subject's code lists its lot's records too, and an event's
    detail names the records it points to; a person's name is never cut in two."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("a")
        await settle(pilot)
        table = app.screen.query_one("#audit-events", DataTable)
        await pilot.press("slash", "tab")  # the person box
        await type_text(pilot, "system")
        await pilot.press("enter")
        await settle(pilot)
        people = {str(table.get_row_at(n)[2]) for n in range(table.row_count)}
        assert people == {"system:init", "system:demo"}  # whole, not "system:i" / "nit"
        await pilot.press("ctrl+u", "shift+tab")  # the person box emptied, to the record box
        await type_text(pilot, "TLS-001")
        await pilot.press("enter")
        await settle(pilot)
        records = [" ".join(str(table.get_row_at(n)[-1]).split()) for n in range(table.row_count)]
        lot = next(r for r in records if r.startswith("Lot "))
        row = max(n for n, r in enumerate(records) if r == f"Passage P0 of {lot[4:]}")  # entered
        table.focus()
        table.move_cursor(row=row)
        await pilot.pause()
        detail = " ".join(shown(app, "#audit-detail").split())
        assert f"lot={lot}" in detail, detail
        assert "recorded_by=User " in detail, detail
        assert not re.search(r"_id=\d|_by=\d", detail), detail


async def test_enter_opens_an_event_in_full(app: LotTrackApp) -> None:
    """At 80x24 the line under the list shows three lines of an event; Enter shows every
    change, one a line, and Esc goes back to the list where it was."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("a")
        await settle(pilot)
        await filter_audit(pilot, "record", "Harvest of TLS-003")
        table = app.screen.query_one("#audit-events", DataTable)
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TextViewModal)
        full = shown(app, "#text-view-text")
        lines = full.splitlines()
        assert lines[0].startswith("#")
        assert " insert Harvest of TLS-003 " in lines[0]
        assert "anticoagulant=heparin" in lines
        assert "aspiration_site=posterior iliac crest" in lines
        assert any(line.startswith("collected_at=") for line in lines)
        assert len(lines) > 4  # more than the line under the list has room for
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)


async def test_older_events_are_listed_when_the_cursor_reaches_the_last_one(
    app: LotTrackApp, demo_db: Database
) -> None:
    """The screen lists a page of the newest events; moving past the last one lists the
    next page of older ones, each event once, in order; m does the same. (Blinded QA does
    not see what the pharmacy recorded of bags and their moves.)"""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("a")
        await settle(pilot)
        table = app.screen.query_one("#audit-events", DataTable)

        def listed() -> list[int]:
            return [int(str(table.get_row_at(n)[0])) for n in range(table.row_count)]

        newest = listed()[0]  # the verification the screen recorded since is not listed
        with demo_db.engine.connect() as conn:  # not the pharmacy's bags and moves
            seqs = [
                s
                for (s,) in conn.execute(
                    text(
                        'SELECT seq FROM audit_event e LEFT JOIN "user" u '
                        "ON u.id = e.user_id WHERE seq <= :s AND NOT (e.entity IN "
                        "('product_unit', 'custody_event') AND ',' || u.roles || ',' "
                        "LIKE '%,pharmacist,%') ORDER BY seq DESC"
                    ),
                    {"s": newest},
                )
            ]
        assert len(seqs) > 3 * PAGE  # the demo's trail is longer than three pages
        assert listed() == seqs[:PAGE]
        assert "50 events, newest first (m: older events)" in shown(app, "#audit-count")
        table.focus()
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table.cursor_row == PAGE - 1, table.cursor_row
        assert listed() == seqs[: 2 * PAGE]
        assert table.cursor_row == PAGE - 1  # still on the row it reached
        await pilot.press("m")
        await settle(pilot)
        assert listed() == seqs[: 3 * PAGE]


async def test_older_events_that_could_not_be_read_are_read_on_the_next_m(
    app: LotTrackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of older events whose read failed says so, and m reads it again."""
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        await pilot.press("a")
        await settle(pilot)
        table = app.screen.query_one("#audit-events", DataTable)
        assert table.row_count == PAGE

        def broken(*args: object, **kwargs: object) -> object:
            raise OSError("disk unplugged")

        monkeypatch.setattr("tui.qa.audit.audit_log", broken)
        await pilot.press("m")
        await settle(pilot)
        assert "could not be read" in shown(app, "#audit-count")
        monkeypatch.setattr("tui.qa.audit.audit_log", audit_log)
        await pilot.press("m")
        await settle(pilot)
        assert table.row_count == 2 * PAGE
