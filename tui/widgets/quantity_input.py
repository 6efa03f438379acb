"""A quantity field: states its unit, converts as you type, marks a bad value inline.

The text is read with :func:`lottrack.kernel.units.parse_quantity` exactly as the service will
read it (same field name, dimension and decimal separator), so the message under a bad
value is the service's own message, and the form refuses to save before the service
is asked. The service still checks everything again.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.units import Dim, ParsedQuantity, format_as_typed, parse_quantity
from tui.widgets.typed_field import TypedField


class QuantityField(TypedField):
    """An input for one quantity of dimension ``dim``; ``name`` is the field's name."""

    ERROR_LINE = ".qf-error"

    DEFAULT_CSS = """
    QuantityField { height: auto; width: 1fr; }
    QuantityField > Horizontal { height: 1; }
    QuantityField Input { width: 30; }
    QuantityField .qf-preview { width: 1fr; height: 1; padding-left: 1; color: $text-muted; }
    QuantityField .qf-preview.-ok { color: $success; }
    QuantityField .qf-preview.-bad { color: $warning; }
    QuantityField .qf-error { height: auto; color: $warning; display: none; }
    QuantityField.-invalid .qf-error { display: block; color: $error; text-style: bold; }
    QuantityField.-shown .qf-error { display: block; }
    """

    def __init__(
        self,
        field: str,
        dim: Dim,
        *,
        value: str = "",
        optional: bool = False,
        allow_zero: bool = False,
        decimal_separator: str = ".",
        id: str | None = None,
    ) -> None:  # noqa: A002 - Textual's parameter name
        super().__init__(name=field, id=id)
        self.field = field
        self.dim = dim
        self.optional = optional
        self.allow_zero = allow_zero
        self._separator = decimal_separator
        self._value = value
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        """Input, conversion preview, and the message line under them."""
        with Horizontal():
            yield Input(
                self._value,
                placeholder="e.g. " + self.dim.example(self._separator),
                compact=True,
                classes="qf-input",
            )
            yield Static("", classes="qf-preview")
        yield Static("", classes="qf-error")

    @property
    def decimal_separator(self) -> str:
        """The site's decimal separator the value is read with."""
        return self._separator

    @decimal_separator.setter
    def decimal_separator(self, value: str) -> None:
        self._separator = value
        self.input.placeholder = "e.g. " + self.dim.example(value)
        self.evaluate()

    def configure(self, field: str, dim: Dim) -> None:
        """Measure another quantity (a form whose field depends on a choice)."""
        self.field = field
        self.dim = dim
        self.input.placeholder = "e.g. " + dim.example(self._separator)
        self.remove_class("-invalid", "-shown")
        self.evaluate()

    def evaluate(self) -> ParsedQuantity | None:
        """Read the text now; update the preview. Returns the value, or None (empty or bad)."""
        preview = self.query_one(".qf-preview", Static)
        text = self.text
        self.error = None
        preview.set_class(False, "-ok")
        preview.set_class(False, "-bad")
        if not text.strip():
            need = "optional, " if self.optional else ""
            preview.update(Text(f"{need}in {self.dim.symbol}"))
            if not self.optional:
                self.error = f"{self.field}: nothing was typed; it is required."
            self._show_error()
            return None
        try:
            parsed = parse_quantity(
                text,
                self.field,
                self.dim,
                decimal_separator=self._separator,
                allow_zero=self.allow_zero,
            )
        except ValidationError as exc:
            self.error = exc.message
            preview.update(Text("✗ not valid"))
            preview.set_class(True, "-bad")
            self._show_error()
            return None
        preview.update(Text("= " + format_as_typed(parsed, decimal_separator=self._separator)))
        preview.set_class(True, "-ok")
        self._show_error()
        return parsed

    def _show_error(self) -> None:
        """While typing, a bad value's message shows (quietly) once the field was left."""
        line = self.query_one(".qf-error", Static)
        if self.error is None:
            self.remove_class("-invalid", "-shown")
            line.update("")
            return
        if self.has_class("-invalid") or self.has_class("-shown"):
            line.update(Text(self.error))

    @on(Input.Blurred)
    def _left(self) -> None:
        if self.error is not None and self.text.strip():
            self.add_class("-shown")
            self._show_error()
