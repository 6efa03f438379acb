"""The start screen: a fresh database offers the demo or ``lottrack init``, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from lottrack.storage.db import Database
from lottrack.views.documents.signing import KEY_DIR_ENV, existing_key
from tests.tui.helpers import frozen_clock, login, screen_text, settle, shown
from tui.app import make_app
from tui.common.login import LoginScreen
from tui.common.start import StartScreen
from tui.home import HomeScreen

pytestmark = pytest.mark.asyncio


async def test_empty_database_offers_the_demo(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    app = make_app(db, clock=frozen_clock)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, StartScreen)
            assert "This database is empty" in screen_text(app)
            hint = shown(app, "#start-hint")
            assert f"lottrack --db {tmp_path / 'fresh.db'} init" in hint
            await pilot.press("d")
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)
            assert "Demo database." in screen_text(app)
            await login(pilot, "tech")
            assert isinstance(app.screen, HomeScreen)
    finally:
        db.dispose()


async def test_creating_the_demo_creates_the_facility_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As `lottrack demo` does: without the key, printing a label or certificate would be
    # refused with "`lottrack init` creates it".
    keys = tmp_path / "keys"
    monkeypatch.setenv(KEY_DIR_ENV, str(keys))
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    app = make_app(db, clock=frozen_clock)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("d")
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)
            assert "No signing key" not in screen_text(app)
        key, cert = existing_key(keys)  # refuses when either file is missing
        assert key.stat().st_size > 0
        assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert key.stat().st_mode & 0o077 == 0  # readable by its owner only
    finally:
        db.dispose()


async def test_unreachable_database_says_so(tmp_path: Path) -> None:
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "dir.db").mkdir()
    db = Database(f"sqlite:///{tmp_path / 'dir.db'}")
    app = make_app(db, clock=frozen_clock)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, StartScreen)
            text = screen_text(app)
            assert "The database cannot be opened" in text
            assert "Traceback" not in text
    finally:
        db.dispose()


async def test_outdated_schema_asks_for_init(demo_db: Database) -> None:
    with demo_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    app = make_app(demo_db, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        assert "This database needs an upgrade" in screen_text(app)
        assert "0000_older" in shown(app, "#start-message")
        assert "d" not in app.screen.active_bindings  # no demo over an existing database
