"""The light tabbed container (tui/widgets/lazy_tabs.py): the number keys and a click
switch tabs, a pane is built only when its tab is first shown, and the bar draws the
labels and the underline as Textual's tabs do."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from tests.tui.helpers import screen_text, settle
from tui.widgets.lazy_tabs import LazyTabs, TabBar

pytestmark = pytest.mark.asyncio

TABS = (("one", "1 One"), ("two", "2 Two"), ("three", "3 Three"))


class TabsApp(App[None]):
    """Three tabs; the keys 1–3 show them; what was built and shown is noted."""

    BINDINGS = [Binding(str(n), f"tab({n})") for n in range(1, len(TABS) + 1)]

    def __init__(self) -> None:
        super().__init__()
        self.built: list[str] = []
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        yield LazyTabs(TABS, self.build, id="tabs")

    def build(self, tab: str) -> Widget:
        self.built.append(tab)
        return Vertical(Static(f"pane {tab}", id=f"body-{tab}"))

    async def action_tab(self, number: int) -> None:
        await self.query_one(LazyTabs).show(TABS[number - 1][0])

    @on(LazyTabs.Shown, "#tabs")
    def noted(self, event: LazyTabs.Shown) -> None:
        self.shown.append(event.tab)


def lines(app: App[None]) -> list[str]:
    return screen_text(app).splitlines()


def cells(app: App[None], y: int) -> list[tuple[str, Style]]:
    """Each cell of the bar's line ``y``: its character and style."""
    return [
        (char, segment.style or Style())
        for segment in app.query_one(TabBar).render_line(y)
        for char in segment.text
    ]


async def test_a_pane_is_built_when_its_tab_is_first_shown() -> None:
    app = TabsApp()
    async with app.run_test(size=(40, 8)) as pilot:
        await settle(pilot)
        tabs = app.query_one(LazyTabs)
        assert app.built == ["one"]
        assert not app.query("#body-two")
        assert tabs.built("one")
        assert not tabs.built("two")
        assert "pane one" in screen_text(app)
        await pilot.press("2")
        await settle(pilot)
        assert app.built == ["one", "two"]
        assert app.query_one("#body-two").display
        assert tabs.active == "two"
        assert "pane two" in screen_text(app)
        assert "pane one" not in screen_text(app)
        assert not app.query("#body-three")
        await pilot.press("1")
        await pilot.press("2")
        await settle(pilot)
        assert app.built == ["one", "two"]  # built once
        assert len(app.query("#body-two")) == 1


async def test_the_shown_message_comes_once_for_each_switch() -> None:
    app = TabsApp()
    async with app.run_test(size=(40, 8)) as pilot:
        await settle(pilot)
        assert app.shown == []  # the first tab is shown from the start
        await pilot.press("2")
        await settle(pilot)
        assert app.shown == ["two"]
        await pilot.press("2")  # already shown
        await settle(pilot)
        assert app.shown == ["two"]
        await pilot.press("3", "1")
        await settle(pilot)
        assert app.shown == ["two", "three", "one"]


async def test_a_click_on_a_label_or_the_bar_under_it_shows_its_tab() -> None:
    app = TabsApp()
    async with app.run_test(size=(40, 8)) as pilot:
        await settle(pilot)
        # " 1 One " takes cells 0–6, " 2 Two " 7–13, " 3 Three " 14–22.
        await pilot.click(TabBar, offset=(9, 0))
        await settle(pilot)
        assert app.query_one(LazyTabs).active == "two"
        assert "pane two" in screen_text(app)
        await pilot.click(TabBar, offset=(20, 1))
        await settle(pilot)
        assert app.query_one(LazyTabs).active == "three"
        await pilot.click(TabBar, offset=(30, 0))  # beyond the labels
        await settle(pilot)
        assert app.query_one(LazyTabs).active == "three"
        assert app.shown == ["two", "three"]


async def test_the_bar_draws_the_labels_and_lights_the_active_one() -> None:
    app = TabsApp()
    async with app.run_test(size=(40, 8)) as pilot:
        await settle(pilot)
        bar = app.query_one(TabBar)
        assert lines(app)[0].startswith(" 1 One  2 Two  3 Three ")
        assert lines(app)[1] == "╸" + "━" * 5 + "╺" + "━" * 33
        label = bar.get_component_rich_style("tab-bar--label").color
        active = bar.get_component_rich_style("tab-bar--active").color
        underline = bar.get_component_rich_style("tab-bar--underline")
        assert label != active
        top, under = cells(app, 0), cells(app, 1)
        assert {style.color for _, style in top[1:6]} == {active}  # "1 One"
        assert {style.color for _, style in top[8:13]} == {label}  # "2 Two"
        assert {style.color for _, style in under[1:6]} == {underline.color}
        assert {style.color for _, style in under[7:]} == {underline.bgcolor}
        await pilot.press("2")
        await settle(pilot)
        top, under = cells(app, 0), cells(app, 1)
        assert {style.color for _, style in top[1:6]} == {label}
        assert {style.color for _, style in top[8:13]} == {active}
        assert {style.color for _, style in under[8:13]} == {underline.color}
        assert {style.color for _, style in under[:7]} == {underline.bgcolor}
        assert lines(app)[1] == "━" * 7 + "╸" + "━" * 5 + "╺" + "━" * 26


async def test_a_label_is_changed_on_screen() -> None:
    app = TabsApp()
    async with app.run_test(size=(40, 8)) as pilot:
        await settle(pilot)
        app.query_one(LazyTabs).set_label("two", "2 Two ✎3")
        await settle(pilot)
        assert lines(app)[0].startswith(" 1 One  2 Two ✎3  3 Three ")
        await pilot.click(TabBar, offset=(24, 0))  # " 3 Three " is now at 17–25
        await settle(pilot)
        assert app.query_one(LazyTabs).active == "three"


async def test_the_label_under_the_mouse_is_brighter() -> None:
    app = TabsApp()
    async with app.run_test(size=(40, 8)) as pilot:
        await settle(pilot)
        bar = app.query_one(TabBar)
        hover = bar.get_component_rich_style("tab-bar--hover").color
        await pilot.hover(TabBar, offset=(9, 0))
        await settle(pilot)
        assert {style.color for _, style in cells(app, 0)[8:13]} == {hover}
        await pilot.hover(TabBar, offset=(35, 5))
        await settle(pilot)
        assert {style.color for _, style in cells(app, 0)[8:13]} != {hover}
