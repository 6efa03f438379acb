"""The one-line footer (tui/widgets/key_footer.py): it names the screen's keys as
Textual's footer does, fits them to the width, and a click on a key presses it."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import Static

from tests.tui.helpers import screen_text, settle
from tui.widgets.key_footer import KeyFooter

pytestmark = pytest.mark.asyncio

PAGE = Binding.Group("Page")


class KeysApp(App[None]):
    """A screen with plain keys, a disabled one, a group and a hidden key."""

    BINDINGS = [
        Binding("a", "note('a')", "Audit", tooltip="The audit trail"),
        Binding("x", "note('x')", "Reject"),
        Binding("pageup", "note('up')", "Prev page", group=PAGE),
        Binding("pagedown", "note('down')", "Next page", group=PAGE),
        Binding("z", "note('z')", "Hidden", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pressed: list[str] = []
        self.bells = 0
        self.reject_allowed = True

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield KeyFooter()

    def action_note(self, what: str) -> None:
        self.pressed.append(what)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if parameters == ("x",) and not self.reject_allowed:
            return None  # shown, but disabled
        return True

    def bell(self) -> None:
        self.bells += 1


def footer_line(app: App[Any]) -> str:
    return screen_text(app).splitlines()[-1]


async def test_the_footer_names_every_shown_key_and_the_palette_last() -> None:
    app = KeysApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await settle(pilot)
        line = footer_line(app)
        assert line.startswith(" a Audit  x Reject  pgup pgdn Page "), line
        assert "Hidden" not in line
        assert line.rstrip().endswith("▏^p palette"), line


async def test_narrow_keys_draw_close_then_without_the_palette() -> None:
    app = KeysApp()
    async with app.run_test(size=(47, 10)) as pilot:
        await settle(pilot)
        assert footer_line(app) == " a Audit  x Reject  pgup pgdn Page ▏^p palette "
        await pilot.resize_terminal(46, 10)  # the last space lies under the rule
        await settle(pilot)
        assert footer_line(app) == " a Audit  x Reject  pgup pgdn Page▏^p palette "
        await pilot.resize_terminal(45, 10)
        await settle(pilot)
        assert footer_line(app) == "a Audit x Reject  pgup pgdn Page ▏^p palette "
        await pilot.resize_terminal(44, 10)
        await settle(pilot)
        assert footer_line(app) == "a Audit x Reject  pgup pgdn Page▏^p palette "
        await pilot.resize_terminal(34, 10)
        await settle(pilot)
        assert footer_line(app) == "a Audit x Reject  pgup pgdn Page  "


async def test_a_click_on_a_key_presses_it() -> None:
    app = KeysApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await settle(pilot)
        line = footer_line(app)
        footer = app.query_one(KeyFooter)
        for word, pressed in [("Audit", "a"), ("Reject", "x"), ("pgdn", "down"), ("pgup", "up")]:
            await pilot.click(footer, offset=(line.index(word), 0))
            await settle(pilot)
            assert app.pressed[-1] == pressed, (word, app.pressed)
        await pilot.click(footer, offset=(line.index("palette"), 0))
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette), app.screen


async def test_a_disabled_key_is_drawn_and_a_click_on_it_rings() -> None:
    app = KeysApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await settle(pilot)
        app.reject_allowed = False
        app.refresh_bindings()
        await settle(pilot)
        line = footer_line(app)
        assert "x Reject" in line
        await pilot.click(app.query_one(KeyFooter), offset=(line.index("Reject"), 0))
        await settle(pilot)
        assert app.bells == 1
        assert "x" not in app.pressed


async def test_the_key_under_the_mouse_shows_its_tooltip() -> None:
    app = KeysApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await settle(pilot)
        line = footer_line(app)
        footer = app.query_one(KeyFooter)
        await pilot.hover(footer, offset=(line.index("Audit"), 0))
        await settle(pilot)
        assert footer.tooltip == "The audit trail"
        await pilot.hover(footer, offset=(line.index("Reject"), 0))
        await settle(pilot)
        assert footer.tooltip is None
