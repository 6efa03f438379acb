"""The Specifications screen: every version and its tests; import a new one; admins only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select
from textual.pilot import Pilot

from lottrack import specifications
from lottrack.db import Database
from lottrack.models import Specification, SpecItem
from tests.tui.helpers import login, screen_text, settle, shown, type_text
from tui.app import LotTrackApp
from tui.screens.home import HomeScreen
from tui.screens.specifications import SpecificationsScreen

pytestmark = pytest.mark.asyncio


def spec_file(tmp_path: Path, **changes: object) -> Path:
    """A specification file as an administrator would write it."""
    data: dict[str, object] = {
        "name": "v2 with a tighter viability",
        "max_passage": 5,
        "items": [
            {"code": "viability_fresh", "test_name": "Viability, fresh", "kind": "numeric",
             "dimension": "FRACTION", "min": 85},
            {"code": "sterility", "test_name": "Sterility", "kind": "categorical",
             "accepted": ["No growth"]},
            {"code": "karyotype", "test_name": "Karyotype", "kind": "report-only"},
        ],
    }
    data.update(changes)
    path = tmp_path / "spec-v2.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def stored_versions(db: Database) -> tuple[int, int]:
    """How many versions and tests the database holds."""
    with db.reader() as s:
        return (s.exec(select(func.count()).select_from(Specification)).one(),
                s.exec(select(func.count()).select_from(SpecItem)).one())


async def open_specifications(pilot: Pilot[object]) -> SpecificationsScreen:
    """Log in as the demo admin and press s."""
    await login(pilot, "admin")
    await pilot.press("s")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SpecificationsScreen)
    return screen


async def import_path(pilot: Pilot[object], path: Path | str) -> None:
    """i, the path, Enter."""
    await pilot.press("i")
    await type_text(pilot, str(path))
    await pilot.press("enter")
    await settle(pilot)


async def test_admin_sees_the_current_version_its_tests_and_numbers(
    app: LotTrackApp,
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_specifications(pilot)
        text = screen_text(app)
        assert "MSC release specification v1" in text
        assert "current" in text
        settings = shown(app, "#specs-settings")
        assert "Version 1: maximum passage P4" in settings
        assert "CV ≤ 10 %" in settings
        assert "fresh shelf life 24 h" in settings
        assert "thaw to infusion ≤ 60 min" in settings
        for expected in ("Viability, fresh final product", "≥ 80 %", "CD45", "≤ 2 %",
                         "Sterility (aerobic/anaerobic culture)", "no growth",
                         "report only", "not required", "categorical", "endotoxin"):
            assert expected in text, expected
        # Nothing on this screen changes a version: there is no edit key.
        assert set(app.screen.active_bindings) >= {"i", "escape"}
        assert "e" not in app.screen.active_bindings


async def test_importing_a_file_adds_a_version_and_keeps_the_old_one(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_specifications(pilot)
        await import_path(pilot, spec_file(tmp_path))
        assert ("Imported specification version 2; new lots are tested against it, "
                "existing lots keep the version they were created with."
                in shown(app, "#specs-status"))
        # The new version is highlighted, with its own tests and numbers.
        assert "Version 2: maximum passage P5" in shown(app, "#specs-settings")
        text = screen_text(app)
        assert "v2 with a tighter viability" in text
        assert "≥ 85 %" in text
        assert "CD73" not in text
        # Version 1 is still there, unchanged, and no longer current.
        await pilot.press("down")
        await pilot.pause()
        assert "Version 1: maximum passage P4" in shown(app, "#specs-settings")
        assert "CD73" in screen_text(app)
    with demo_db.reader() as s:
        current = specifications.current_spec(s)
        assert (current.version, current.max_passage) == (2, 5)
        assert current.id is not None
        codes = [i.code for i in specifications.items(s, current.id)]
    assert codes == ["viability_fresh", "sterility", "karyotype"]


async def test_a_bad_file_shows_the_services_message_and_stores_nothing(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    before = stored_versions(demo_db)
    bad = spec_file(tmp_path, items=[
        {"code": "cd73", "test_name": "CD73", "kind": "numeric", "dimension": "FRACTION",
         "min": 95, "max": 90}])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_specifications(pilot)
        await import_path(pilot, bad)
        status = shown(app, "#specs-status")
        assert "Specification file: items[0] min is above max." in status
        assert "Nothing was stored." in status
        assert screen.query_one("#specs-status").has_class("error")
        # The path stays typed, so it can be corrected.
        assert screen.query_one("#specs-path").value == str(bad)
        # The cursor stays on the import line: clear it and press Enter.
        path_input = screen.query_one("#specs-path")
        assert app.focused is path_input
        path_input.value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert "Type the path" in shown(app, "#specs-status")
        await type_text(pilot, str(tmp_path / "missing.json"))
        await pilot.press("enter")
        await settle(pilot)
        assert "cannot read" in shown(app, "#specs-status")
        assert "Version 1:" in shown(app, "#specs-settings")
    assert stored_versions(demo_db) == before


async def test_only_an_admin_reaches_the_specifications_screen(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "qa")
        assert isinstance(app.screen, HomeScreen)
        assert app.check_action("open", ("specifications",)) is False
        assert "Specs" not in [c.name for c in app.palette_commands(app.screen)]
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        app.open_destination("specifications")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
