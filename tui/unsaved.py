"""Typed input a person would lose: what a form or dialog holds compared with what it
showed when it opened. Esc, logging out and ctrl+q ask before throwing it away."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Checkbox, Input, RadioSet, Select, SelectionList, TextArea


def typed_values(root: Widget) -> tuple[object, ...]:
    """The values of every field under ``root``, in order."""
    values: list[object] = []
    for widget in root.query("Input, TextArea, Select, SelectionList, Checkbox, RadioSet"):
        if isinstance(widget, Input):
            values.append(widget.value)
        elif isinstance(widget, TextArea):
            values.append(widget.text)
        elif isinstance(widget, Select):
            values.append(widget.value)
        elif isinstance(widget, SelectionList):
            values.append(tuple(widget.selected))
        elif isinstance(widget, Checkbox):
            values.append(widget.value)
        elif isinstance(widget, RadioSet):
            values.append(widget.pressed_index)
    return tuple(values)


class KeepsTypedInput:
    """Mixin for a screen with fields: :meth:`mark_clean` once the fields show what was
    loaded; :meth:`has_unsaved_input` is True once a person changed one of them."""

    _clean: tuple[object, ...] | None = None

    def input_root(self) -> Widget:
        """The widget that holds the fields (the screen itself by default)."""
        assert isinstance(self, Widget)
        return self

    def input_title(self) -> str:
        """What the person calls the form or dialog, when asked about losing its input."""
        return str(getattr(self, "FORM_TITLE", "") or "this screen")

    def mark_clean(self) -> None:
        """What the fields hold now is nothing to lose."""
        self._clean = typed_values(self.input_root())

    def has_unsaved_input(self) -> bool:
        """True when a field differs from what it held when :meth:`mark_clean` ran."""
        return self._clean is not None and typed_values(self.input_root()) != self._clean
