"""The footer of every screen: its keys in one line, F1 Help last and always whole.

Textual's footer draws each key with a space either side and lets the line run off the
right edge when a screen has many keys (a QA review of a lot under investigation at 80
columns ended "d Batch record f▏"). This one draws the keys closer together when they
would not fit, and if they still would not, leaves out the command palette's key (F1
Help names it).

It is drawn anew only when what it shows changes: Textual's footer recomposes on every
change of focus or bindings, five or six times while a screen opens, and each time
builds a dozen widgets and styles them (#18: a third of the QA review's opening).
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen


class KeyFooter(Footer):
    """A footer that fits its keys to the width it has."""

    _drawn: tuple[object, ...] = ()
    _redraw_pending = False

    DEFAULT_CSS = """
    KeyFooter.-compact FooterLabel {
        margin: 0 1 0 0;
    }
    """

    def compose(self) -> ComposeResult:
        """The keys, after deciding how closely they must be drawn."""
        self._fit(self.size.width or self.app.size.width)
        self._drawn = self._shown()
        yield from super().compose()

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Draw the keys anew after the next refresh, once however often the bindings
        change before it, and only if the keys shown (or their state) changed."""
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._redraw_pending:
            self._redraw_pending = True
            self.call_after_refresh(self._redraw)

    async def _redraw(self) -> None:
        self._redraw_pending = False
        if self.is_attached and self._drawn != self._shown():
            await self.recompose()

    def _shown(self) -> tuple[object, ...]:
        """What :meth:`compose` draws from: each shown key with its state, and the
        width-dependent choices."""
        if not self._bindings_ready:
            return ()
        keys = tuple(
            (binding.key, binding.action, binding.description, binding.group, enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )
        return (keys, self._palette_key(), self.compact, self.show_command_palette)

    def on_resize(self, event: Resize) -> None:
        """A new width: fit again (the keys are drawn anew when the style changes)."""
        if self._fit(event.size.width):
            self.call_after_refresh(self.recompose)

    def _fit(self, width: int) -> bool:
        """Set the compact style and the palette key for ``width``; True if either changed."""
        if not self._bindings_ready or width <= 0:
            return False
        items = self._item_widths()
        palette = self._palette_key()
        # The palette's key is docked over the last cell of the keys (a space or margin).
        wide = sum(w for w, _ in items) - 1
        compact = sum(c for _, c in items) - 1
        palette_wide = len(palette[0]) + len(palette[1]) + 3 if palette else 0
        palette_compact = palette_wide - 1 if palette else 0
        before = (self.compact, self.show_command_palette)
        if wide + palette_wide <= width:
            self.compact, show = False, True
        elif compact + palette_compact <= width:
            self.compact, show = True, True
        else:
            self.compact, show = True, False
        self.set_reactive(Footer.show_command_palette, show)
        return before != (self.compact, show)

    def _item_widths(self) -> list[tuple[int, int]]:
        """(wide, compact) cells of each key the footer draws, as Textual's footer groups
        them: a key is " key " + "description " wide, "key" + " description" + a margin
        compact; a group of keys (PgUp PgDn Page) is " pgup pgdn " and its label."""
        by_action: dict[str, Binding] = {}
        for _node, binding, _enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action.setdefault(binding.action, binding)
        widths: list[tuple[int, int]] = []
        for group, members in groupby(by_action.values(), lambda binding: binding.group):
            bindings = list(members)
            keys = [len(self.app.get_key_display(binding)) for binding in bindings]
            if group is not None and len(bindings) > 1:
                cells = sum(n + 1 for n in keys) + 1 + len(group.description) + 1
                widths.append((cells, cells))
            else:
                widths.extend(
                    (n + len(binding.description) + 3, n + len(binding.description) + 2)
                    for n, binding in zip(keys, bindings, strict=True)
                )
        return widths

    def _palette_key(self) -> tuple[str, str] | None:
        """The command palette's key and its description, when the app shows it."""
        if not self.app.ENABLE_COMMAND_PALETTE:
            return None
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return None
        binding: Binding = found[1]
        return self.app.get_key_display(binding), binding.description
