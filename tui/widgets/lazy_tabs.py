"""Tabs whose bar is one widget and whose panes are built the first time they are shown.

Textual's ``TabbedContent`` brings eight widgets and two more per tab before any tab
holds anything (the tab bar's containers, a widget per label and per pane, the
underline, a content switcher), each styled, laid out and drawn when a screen opens: on
the QA review and the batch record, most of the screen's widgets and of the time it took
to open (#18). Here
the bar is one widget drawing two lines of text, as Textual's tabs look (labels, and the
underline bright under the active one), and the container holds only the panes built so
far: the first at compose, each other when it is first shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.placed import Placed


class LazyTabs(Widget):
    """A tab bar over the pane of the active tab; a pane is built when first shown.

    ``tabs`` are (id, label) pairs; ``build(id)`` returns the tab's pane: one widget
    holding the tab's widgets (the screen chooses the box, e.g. one that scrolls)."""

    DEFAULT_CSS = """
    LazyTabs {
        height: auto;
    }
    """

    class Shown(Message):
        """A tab was shown, in place of another (by :meth:`LazyTabs.show` or a click):
        the screen fills its pane."""

        def __init__(self, lazy_tabs: LazyTabs, tab: str) -> None:
            super().__init__()
            self.lazy_tabs = lazy_tabs
            self.tab = tab

        @property
        def control(self) -> LazyTabs:
            """The tabs, for ``@on(LazyTabs.Shown, "#id")``."""
            return self.lazy_tabs

    def __init__(
        self,
        tabs: Sequence[tuple[str, str]],
        build: Callable[[str], Widget],
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.labels = dict(tabs)
        """Each tab's label, in the order they are drawn (:meth:`set_label` changes one)."""
        self._build = build
        self._active = tabs[0][0]
        self._panes: dict[str, Widget] = {}
        """The panes built so far, by tab."""

    @property
    def active(self) -> str:
        """The id of the tab shown."""
        return self._active

    def built(self, tab: str) -> bool:
        """Whether ``tab`` has been shown (and its pane built)."""
        return tab in self._panes

    def pane(self, tab: str) -> Widget:
        """``tab``'s pane (KeyError while it has not been shown)."""
        return self._panes[tab]

    def compose(self) -> ComposeResult:
        yield TabBar(self)
        yield self._new_pane(self._active)

    def _new_pane(self, tab: str) -> Widget:
        pane = self._panes[tab] = self._build(tab)
        return pane

    async def show(self, tab: str) -> None:
        """Show ``tab``, building its pane first (mounted before it is displayed, so it
        is ready to fill as soon as this returns); post :class:`Shown` if it changed."""
        if tab == self._active:
            return
        pane = self._panes.get(tab)
        if pane is None:
            pane = self._new_pane(tab)
            pane.display = False
            await self.mount(pane)
            if tab == self._active:  # shown meanwhile (by a click and its key at once)
                return
        self._panes[self._active].display = False
        pane.display = True
        self._active = tab
        self.query_one(TabBar).refresh()
        self.post_message(self.Shown(self, tab))

    def set_label(self, tab: str, label: str) -> None:
        """Name ``tab`` ``label`` (e.g. with the count of what it holds)."""
        if self.labels[tab] != label:
            self.labels[tab] = label
            self.query_one(TabBar).refresh()


class TabBar(Placed[str], can_focus=False):
    """The labels of :class:`LazyTabs`, and the underline bar under them.

    Drawn as Textual's ``Tabs`` and ``Underline`` draw them (the same colours, from their
    CSS): each label padded with a space either side, dimmed but the active one; the bar
    a line of ━, bright under the active label, with half bars either side of it. A click
    on a label, or on the bar under it, shows its tab. The number keys of the screens
    switch tabs, so the bar takes no focus (Textual's tabs take it, and then ←/→)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tab-bar--label",
        "tab-bar--active",
        "tab-bar--hover",
        "tab-bar--underline",
    }
    DEFAULT_CSS = """
    TabBar {
        dock: top;
        width: 1fr;
        height: 2;
        text-wrap: nowrap;
        & > .tab-bar--label {
            color: $foreground 50%;
        }
        & > .tab-bar--active {
            color: $foreground;
        }
        & > .tab-bar--hover {
            color: $foreground;
        }
        & > .tab-bar--underline {
            color: $block-cursor-background;
            background: $foreground 10%;
        }
        &:ansi {
            & > .tab-bar--label, & > .tab-bar--hover {
                text-style: dim;
            }
            & > .tab-bar--active {
                text-style: not dim bold;
            }
            & > .tab-bar--underline {
                color: $block-cursor-background;
                background: $border-blurred;
            }
        }
    }
    """

    def __init__(self, tabs: LazyTabs) -> None:
        super().__init__()
        self._tabs = tabs

    def render(self) -> Text:
        active = self._tabs.active
        labels = Text(end="")
        self.forget_places()
        lit = (0, 0)
        for tab, label in self._tabs.labels.items():
            start = labels.cell_len
            component = (
                "tab-bar--active"
                if tab == active
                else "tab-bar--hover"
                if tab == self.hover
                else "tab-bar--label"
            )
            labels.append(" ")
            labels.append(label, self.get_component_rich_style(component))
            labels.append(" ")
            self.place(start, labels.cell_len, tab)
            if tab == active:
                lit = (start + 1, start + 1 + cell_len(label))
        lines = Text(no_wrap=True, overflow="crop", end="")
        lines.append_text(labels)
        lines.append("\n")
        lines.append_text(self._bar(self.size.width, *lit))
        return lines

    def render_line(self, y: int) -> Strip:
        """The line drawn, its spaces with the background alone: Textual pads a tab's
        label so, and the screen is then drawn (and exported) the same to the cell."""
        return Strip(
            Segment(text, Style(bgcolor=style.bgcolor))
            if style is not None and not control and text.isspace()
            else Segment(text, style, control)
            for text, style, control in super().render_line(y)
        )

    def _bar(self, width: int, start: int, end: int) -> Text:
        """The underline as Textual's ``Bar`` draws it under a tab from ``start`` to
        ``end``: the component's colour lights the cells under the label, its background
        colour draws the others."""
        style = self.get_component_rich_style("tab-bar--underline")
        lit, unlit = Style.from_color(style.color), Style.from_color(style.bgcolor)
        end = min(end, width)
        bar = Text(end="")
        if start >= end:
            bar.append("━" * width, unlit)
            return bar
        bar.append("━" * (start - 1) + "╸", unlit)
        bar.append("━" * (end - start), lit)
        if end < width:
            bar.append("╺" + "━" * (width - end - 1), unlit)
        return bar

    async def on_click(self, event: events.Click) -> None:
        """A click on a label (or the bar under it) shows its tab."""
        found = self.at(event.x)
        if found is not None:
            await self._tabs.show(found[1])
