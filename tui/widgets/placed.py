"""A widget that draws things at places along a line (keys, tab labels) and finds them
under the mouse: the thing under it is hovered (drawn lit, its tooltip shown)."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual import events
from textual.widget import Widget

Thing = TypeVar("Thing")


class Placed(Widget, Generic[Thing]):
    """Its ``render`` notes where it drew each thing (:meth:`place`, after
    :meth:`forget_places`); :meth:`at` finds the one at a column, and :attr:`hover` is the
    one under the mouse (the widget is drawn again when it changes)."""

    def __init__(self) -> None:
        super().__init__()
        self._places: list[tuple[int, int, Thing]] = []
        self.hover: Thing | None = None

    def forget_places(self, keep: int | None = None) -> None:
        """Forget where things were drawn (those starting before ``keep``, if given, stay:
        the line was cut there)."""
        self._places = [] if keep is None else [p for p in self._places if p[0] < keep]

    def place(self, start: int, end: int, thing: Thing) -> None:
        """``thing`` was drawn from column ``start`` up to ``end``."""
        self._places.append((start, end, thing))

    def at(self, x: int) -> tuple[int, Thing] | None:
        """The thing drawn at column ``x``, with the column it starts at."""
        return next(
            ((start, thing) for start, end, thing in self._places if start <= x < end), None
        )

    def tooltip_of(self, thing: Thing) -> str | None:
        """What the mouse shows over ``thing`` (nothing, unless a subclass says)."""
        del thing
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        found = self.at(event.x)
        self._hovered(found[1] if found is not None else None)

    def on_leave(self, _event: events.Leave) -> None:
        self._hovered(None)

    def _hovered(self, thing: Thing | None) -> None:
        if thing != self.hover:
            self.hover = thing
            self.tooltip = self.tooltip_of(thing) if thing is not None else None
            self.refresh()
