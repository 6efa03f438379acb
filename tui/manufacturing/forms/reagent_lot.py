"""Register a delivered reagent lot; it stays in quarantine until QA releases it."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Input, Select

from lottrack.manufacturing import reagents
from lottrack.records.permissions import CurrentUser
from tui.common.form import FormProblem, FormScreen, SaveCall, field_row, grid


class ReagentLotForm(FormScreen):
    """Name, kind, supplier, lot number, expiry."""

    FORM_TITLE = "Register a reagent lot"
    SAVE_LABEL = "Register"
    HELP = """\
# Register a reagent lot

Type the reagent, its kind, supplier, the supplier's lot number and the expiry date
(`2026-12-31`). The lot is registered **in quarantine**: it cannot be recorded as used
until QA releases it (Reagents screen, **r**). **ctrl+s** registers.
"""

    def compose_fields(self) -> ComposeResult:
        """The fields."""
        with grid():
            yield from field_row(
                "Reagent",
                Input(placeholder="e.g. MEM alpha", compact=True, name="Reagent", id="name"),
            )
            yield from field_row(
                "Kind",
                Select[str](
                    [(k, k) for k in reagents.KINDS],
                    prompt="Pick the kind",
                    name="Kind",
                    id="kind",
                    compact=True,
                ),
            )
            yield from field_row("Supplier", Input(compact=True, name="Supplier", id="supplier"))
            yield from field_row(
                "Lot number", Input(compact=True, name="Lot number", id="lot-number")
            )
            yield from field_row(
                "Expiry",
                Input(placeholder="e.g. 2026-12-31", compact=True, name="Expiry", id="expiry"),
            )

    def collect(self) -> SaveCall:
        """register_reagent_lot with what was typed."""
        kind = self.query_one("#kind", Select).value
        if not isinstance(kind, str):
            raise FormProblem("Kind: pick the kind of reagent.", "Kind")
        expiry_text = self.query_one("#expiry", Input).value.strip()
        try:
            expiry = dt.date.fromisoformat(expiry_text)
        except ValueError:
            raise FormProblem(
                f'Expiry: "{expiry_text[:20]}" is not a date; expected '
                "year-month-day such as 2026-12-31.",
                "Expiry",
            ) from None
        name = self.query_one("#name", Input).value
        supplier = self.query_one("#supplier", Input).value
        lot_number = self.query_one("#lot-number", Input).value

        def save(session: Session, who: CurrentUser) -> str:
            info = reagents.register_reagent_lot(
                session,
                who,
                name=name,
                kind=kind,
                supplier=supplier,
                lot_number=lot_number,
                expiry=expiry,
            )
            return f"{info.label} registered in quarantine."

        return save
