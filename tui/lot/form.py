"""The base of the forms that record a step of one lot (passage, count, QC, formulation)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from sqlmodel import Session

from lottrack.kernel.errors import NotFound
from lottrack.records.permissions import CurrentUser
from lottrack.views import listings
from tui.common.form import FormScreen
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField


class _Record(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=_Record)


def one_record(rows: Iterable[R], record_id: int, missing: str) -> R:
    """The row of ``rows`` whose ``id`` is ``record_id`` (a form on one bag, passage or QC
    result of a lot); :class:`NotFound` saying ``missing`` when there is none."""
    row = next((r for r in rows if r.id == record_id), None)
    if row is None:
        raise NotFound(missing)
    return row


class LotForm(FormScreen):
    """A form about lot ``lot_id``; :attr:`lot` holds its state once loaded."""

    def __init__(self, lot_id: int) -> None:
        super().__init__()
        self.lot_id = lot_id

    @property
    def lot(self) -> listings.LotFormContext:
        """The lot's state, site conventions and specification limits."""
        data = self.data
        context = data[0] if isinstance(data, tuple) else data
        assert isinstance(context, listings.LotFormContext)
        return context

    def load(self, session: Session, who: CurrentUser) -> Any:
        """The lot's context (subclasses add what else they offer)."""
        return listings.lot_form_context(session, who, self.lot_id)

    def apply(self, data: Any) -> None:
        """Read quantities with the site's separator and times in the site's zone."""
        del data
        for field in self.query(QuantityField):
            field.decimal_separator = self.lot.decimal_separator
        for moment in self.query(MomentField):
            moment.set_zone(self.lot.timezone)

    def context_line(self) -> str:
        """Which lot."""
        lot = self.lot
        return (
            f"Lot {lot.lot_number} · subject {lot.subject_code} · {lot.status} · "
            f"specification v{lot.spec_version}"
        )
