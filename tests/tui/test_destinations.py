"""The destinations table: every entry names a real screen, its own key, and opens it."""

from __future__ import annotations

from typing import Any

import pytest
from textual.binding import Binding
from textual.screen import Screen

from lottrack.demo.database import DEMO_USERS
from lottrack.records.permissions import PERMISSIONS
from tests.tui.helpers import login, settle
from tui.app import LotTrackApp
from tui.destinations import BY_NAME, DESTINATIONS, Destination
from tui.home import HomeScreen

# One demo person of each role that has places to go; together they may open them all.
OPENERS = ("admin", "tech", "pharm", "inv")


def screen_type(dest: Destination) -> type[Screen[Any]]:
    """The class the entry names, found as the app finds it: a screen class."""
    found = dest.screen_type()
    assert isinstance(found, type), dest.screen_class
    assert issubclass(found, Screen), dest.screen_class
    return found


@pytest.mark.parametrize("dest", DESTINATIONS, ids=lambda d: d.name)
def test_each_destination_names_an_importable_screen_class(dest: Destination) -> None:
    cls = screen_type(dest)
    # A screen that knows its destination (the palette leaves it out while it is shown)
    # knows this one.
    assert getattr(cls, "DESTINATION", dest.name) == dest.name


def test_names_and_keys_are_unique_and_free_on_the_home_screen() -> None:
    names = [d.name for d in DESTINATIONS]
    keys = [d.key for d in DESTINATIONS]
    assert len(set(names)) == len(names)
    assert len(set(keys)) == len(keys)
    assert set(BY_NAME) == set(names)
    others = {
        b.key
        for b in HomeScreen.BINDINGS
        if isinstance(b, Binding) and not b.action.startswith("app.open(")
    }
    assert not others & set(keys)


def test_the_demo_people_between_them_may_open_every_destination() -> None:
    roles = {r for u in DEMO_USERS if u.username in OPENERS for r in u.roles}
    assert all(PERMISSIONS[d.action] & roles for d in DESTINATIONS)


@pytest.mark.asyncio
@pytest.mark.parametrize("username", OPENERS)
async def test_each_key_opens_its_screen(app: LotTrackApp, username: str) -> None:
    """From the home screen, each destination the person may open is in the footer and
    the palette under its title, and its key opens the screen the table names."""
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, username)
        allowed = [d for d in DESTINATIONS if app.ctx.can(d.action)]
        assert allowed
        home = app.screen
        assert isinstance(home, HomeScreen)
        palette = {c.name for c in app.palette_commands(home)}
        for dest in allowed:
            assert home.active_bindings[dest.key].binding.description == dest.title
            assert dest.title in palette
            await pilot.press(dest.key)
            await settle(pilot)
            assert type(app.screen) is screen_type(dest), dest.name
            app.pop_screen()
            await settle(pilot)
            assert app.screen is home
