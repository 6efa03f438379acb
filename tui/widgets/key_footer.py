"""The footer of every screen: its keys in one line, F1 Help last and always whole.

It is one widget that draws one line of text, as Textual's footer looks: Textual's
footer builds a widget for each key (a dozen on most screens), styles and lays each out
whenever a screen opens, a quarter of opening a screen (#18). A key is clicked by its
place on the line; the key under the mouse is highlighted and shows its tooltip.

When the keys would not fit they are drawn closer together, and if they still would
not, the command palette's key is left out (F1 Help names it); Textual's footer let the
line run off the right edge ("d Batch record f▏" at 80 columns on a QA review).
It is drawn anew only when the keys shown, or their state, change.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from typing_extensions import override

from tui.widgets.placed import Placed

if TYPE_CHECKING:
    from textual.screen import Screen


@dataclass(frozen=True)
class _Key:
    """One place on the line: a key with its description, or a group's keys."""

    keys: tuple[tuple[str, str], ...]  # (key, as shown) of each key drawn here
    description: str
    enabled: bool
    tooltip: str

    @property
    def grouped(self) -> bool:
        return len(self.keys) > 1


class KeyFooter(Placed[_Key], can_focus=False):
    """The screen's keys on one line, fitted to the width it has."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-footer--key",
        "key-footer--description",
        "key-footer--item",
        "key-footer--hover",
        "key-footer--rule",
    }
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        & > .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-footer--item {
            background: $footer-item-background;
        }
        & > .key-footer--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        & > .key-footer--rule {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: tuple[_Key, ...] = ()
        self._palette: _Key | None = None
        self._ready = False
        self._redraw_pending = False

    # What is shown ---------------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Read the keys after the next refresh, once however often the bindings change
        before it, and draw them if they (or their state) changed."""
        self._ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._redraw_pending:
            self._redraw_pending = True
            self.call_after_refresh(self._read_keys)

    def _read_keys(self) -> None:
        self._redraw_pending = False
        if not self.is_attached:
            return
        keys, palette = self._shown()
        if (keys, palette) != (self._keys, self._palette):
            self._keys, self._palette = keys, palette
            self.refresh()

    def _shown(self) -> tuple[tuple[_Key, ...], _Key | None]:
        """The keys to draw, grouped as Textual's footer groups them (one place per
        action; keys of a group together, with the group's name), and the palette's."""
        app = self.app
        active = self.screen.active_bindings
        by_action: dict[str, tuple[Binding, bool, str]] = {}
        for _node, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action.setdefault(binding.action, (binding, enabled, tooltip))
        keys: list[_Key] = []
        for group, members in groupby(by_action.values(), lambda shown: shown[0].group):
            bindings = list(members)
            if group is not None and len(bindings) > 1:
                keys.append(
                    _Key(
                        tuple((b.key, app.get_key_display(b)) for b, _, _ in bindings),
                        group.description,
                        any(enabled for _, enabled, _ in bindings),
                        "",
                    )
                )
            else:
                keys.extend(
                    _Key(((b.key, app.get_key_display(b)),), b.description, enabled, tooltip)
                    for b, enabled, tooltip in bindings
                )
        palette = None
        found = active.get(app.COMMAND_PALETTE_BINDING) if app.ENABLE_COMMAND_PALETTE else None
        if found is not None:
            _node, binding, enabled, _tooltip = found
            palette = _Key(
                ((binding.key, app.get_key_display(binding)),),
                binding.description,
                enabled,
                binding.tooltip or binding.description,
            )
        return tuple(keys), palette

    # Drawing ---------------------------------------------------------------------------

    def render(self) -> Text:
        self.forget_places()
        if not self._ready:
            return Text()
        width = self.size.width
        wide = sum(self._width(key, compact=False) for key in self._keys)
        compact = sum(self._width(key, compact=True) for key in self._keys)
        palette = self._palette
        # The last key's trailing space may lie under the palette's rule.
        room = width - self._palette_width(palette) + 1 if palette is not None else 0
        if palette is not None and wide <= room:
            return self._line(width, compact=False, palette=palette)
        if palette is not None and compact <= room:
            return self._line(width, compact=True, palette=palette)
        return self._line(width, compact=wide > width, palette=None)

    @staticmethod
    def _width(key: _Key, *, compact: bool) -> int:
        """Cells one place takes: " key description " wide, "key description " compact
        (the last space a margin); a group " pgup pgdn Page " either way."""
        if key.grouped:
            return sum(len(shown) + 1 for _, shown in key.keys) + 1 + len(key.description) + 1
        shown = key.keys[0][1]
        return len(shown) + len(key.description) + (2 if compact else 3)

    @staticmethod
    def _palette_width(palette: _Key) -> int:
        """The palette's key at the right edge, always drawn close, after a rule and
        with a space after it: "▏^p palette "."""
        return 1 + len(palette.keys[0][1]) + 1 + len(palette.description) + 1

    def _line(self, width: int, *, compact: bool, palette: _Key | None) -> Text:
        line = Text(no_wrap=True, overflow="crop", end="")
        for key in self._keys:
            self._draw(line, key, compact=compact)
        room = width if palette is None else width - self._palette_width(palette)
        line.truncate(room, pad=True)
        self.forget_places(keep=room)
        if palette is not None:
            line.append("▏", self.get_component_rich_style("key-footer--rule"))
            self._draw(line, palette, compact=True, last=True)
            line.append(" ", self.get_component_rich_style("key-footer--item"))
        return line

    def _draw(self, line: Text, key: _Key, *, compact: bool, last: bool = False) -> None:
        start = len(line)
        item = self.get_component_rich_style("key-footer--item")
        key_style = item + self.get_component_rich_style("key-footer--key")
        text_style = item + self.get_component_rich_style("key-footer--description")
        if key == self.hover:
            hover = self.get_component_rich_style("key-footer--hover")
            key_style, text_style = key_style + hover, text_style + hover
        if not key.enabled:
            key_style, text_style = key_style + Style(dim=True), text_style + Style(dim=True)
        if key.grouped:
            line.append(" ")
            for _, shown in key.keys:
                line.append(shown, key_style)
                line.append(" ")
            line.append(key.description, text_style)
            line.append(" ")
        elif compact:
            line.append(key.keys[0][1], key_style)
            line.append(" " + key.description, text_style)
            if not last:
                line.append(" ")
        else:
            line.append(f" {key.keys[0][1]} ", key_style)
            line.append(f"{key.description} ", text_style)
        self.place(start, len(line), key)

    # The mouse -------------------------------------------------------------------------

    @override
    def tooltip_of(self, thing: _Key) -> str | None:
        return thing.tooltip or None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """A click on a key presses it (the one clicked of a group's); a disabled key
        rings."""
        found = self.at(event.x)
        if found is None:
            return
        x, key = found
        if not key.enabled:
            self.app.bell()
            return
        if key.grouped:
            # Each key of a group is drawn with a space before it: find the one clicked.
            x += 1
            for pressed, shown in key.keys:
                if x <= event.x < x + len(shown) + 1:
                    self.app.simulate_key(pressed)
                    return
                x += len(shown) + 1
            return
        self.app.simulate_key(key.keys[0][0])
