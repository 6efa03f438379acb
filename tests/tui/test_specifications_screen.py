"""The Specifications screen: every version and its tests; import a new one; admins only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import Input

from lottrack.manufacturing import specifications
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import Specification, SpecItem, User
from tests.storage.test_specifications import v1_items
from tests.tui.helpers import PASSWORDS, login, screen_text, settle, shown, type_text
from tui.app import LotTrackApp
from tui.dialogs.signature import SignatureModal
from tui.home import HomeScreen
from tui.qa.specifications import SpecificationsScreen

pytestmark = pytest.mark.asyncio


def spec_file(tmp_path: Path, **changes: object) -> Path:
    """A specification file as an administrator would write it (every §10 test)."""
    items = v1_items()
    items[0] = dict(items[0], min=85)
    data: dict[str, object] = {
        "name": "v2 with a tighter viability",
        "max_passage": 5,
        "items": items,
    }
    data.update(changes)
    path = tmp_path / "spec-v2.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def stored_versions(db: Database) -> tuple[int, int]:
    """How many versions and tests the database holds."""
    with db.reader() as s:
        return (
            s.exec(select(func.count()).select_from(Specification)).one(),
            s.exec(select(func.count()).select_from(SpecItem)).one(),
        )


async def open_specifications(pilot: Pilot[None], who: str = "admin") -> SpecificationsScreen:
    """Log in as a demo person (the admin unless told) and press s."""
    await login(pilot, who)
    await pilot.press("s")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SpecificationsScreen)
    return screen


async def import_path(pilot: Pilot[None], path: Path | str) -> None:
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
        assert "in force" in text
        settings = shown(app, "#specs-settings")
        assert "Version 1: maximum passage P4" in settings
        assert "CV ≤ 10 %" in settings
        assert "fresh shelf life 24 h" in settings
        assert "thaw to infusion ≤ 60 min" in settings
        for expected in (
            "Viability, fresh final product",
            "≥ 80 %",
            "CD45",
            "≤ 2 %",
            "Sterility (aerobic/anaerobic culture)",
            "no growth",
            "report only",
            "not required",
            "categorical",
            "endotoxin",
        ):
            assert expected in text, expected
        # Nothing on this screen changes a version: there is no edit key.
        assert set(app.screen.active_bindings) >= {"i", "escape"}
        assert "e" not in app.screen.active_bindings


async def test_importing_a_file_proposes_a_version_and_qa_approves_it(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_specifications(pilot)
        await import_path(pilot, spec_file(tmp_path))
        assert (
            "Specification version 2 is proposed; it is in force once a QA person "
            "other than you approves it." in shown(app, "#specs-status")
        )
        # The new version is highlighted, with its own tests and numbers.
        assert "Version 2: maximum passage P5" in shown(app, "#specs-settings")
        text = screen_text(app)
        assert "v2 with a tighter viability" in text
        assert "proposed" in text
        assert "≥ 85 %" in text
        assert "a" not in app.screen.active_bindings  # an admin does not approve
        # Version 1 is still there, unchanged, and still in force.
        await pilot.press("down")
        await pilot.pause()
        assert "Version 1: maximum passage P4" in shown(app, "#specs-settings")
    with demo_db.reader() as s:
        assert specifications.current_spec(s).version == 1


async def test_qa_approves_a_proposed_version_with_a_signature(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    with demo_db.session() as s:
        admin = CurrentUser.of(s.exec(select(User).where(User.username == "admin")).one())
        specifications.import_spec(s, admin, spec_file(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_specifications(pilot, "qa")
        assert "i" not in app.screen.active_bindings  # QA does not import
        assert "Version 2: maximum passage P5" in shown(app, "#specs-settings")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, SignatureModal)
        assert "approve this specification version" in shown(app, "#signature-meaning")
        await type_text(pilot, "qa")
        await pilot.press("enter")
        await type_text(pilot, "wrong-password")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SignatureModal)  # asked again, with the refusal
        await type_text(pilot, "qa")
        await pilot.press("enter")
        await type_text(pilot, PASSWORDS["qa"])
        await pilot.press("enter")
        await settle(pilot)
        assert "version 2 approved and signed" in shown(app, "#specs-status")
        assert "in force" in screen_text(app)
        assert "a" not in app.screen.active_bindings
    with demo_db.reader() as s:
        assert specifications.current_spec(s).version == 2


async def test_a_bad_file_shows_the_services_message_and_stores_nothing(
    app: LotTrackApp, demo_db: Database, tmp_path: Path
) -> None:
    before = stored_versions(demo_db)
    bad = spec_file(
        tmp_path,
        items=[
            {
                "code": "cd73",
                "test_name": "CD73",
                "kind": "numeric",
                "dimension": "FRACTION",
                "min": 95,
                "max": 90,
            }
        ],
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_specifications(pilot)
        await import_path(pilot, bad)
        status = shown(app, "#specs-status")
        assert "Specification file: items[0] min is above max." in status
        assert "Nothing was stored." in status
        assert screen.query_one("#specs-status").has_class("error")
        # The path stays typed, so it can be corrected.
        assert screen.query_one("#specs-path", Input).value == str(bad)
        # The cursor stays on the import line: clear it and press Enter.
        path_input = screen.query_one("#specs-path", Input)
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


async def test_only_admin_and_qa_reach_the_specifications_screen(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        assert isinstance(app.screen, HomeScreen)
        assert app.check_action("open", ("specifications",)) is False
        assert "Specs" not in [c.name for c in app.palette_commands(app.screen)]
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        app.open_destination("specifications")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
