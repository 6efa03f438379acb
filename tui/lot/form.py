"""The base of the forms that record a step of one lot (passage, count, QC, formulation)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
T = TypeVar("T")


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

    def load_record(
        self,
        session: Session,
        who: CurrentUser,
        rows: Callable[[Session, CurrentUser, int], Iterable[R]],
        record_id: int,
        noun: str,
    ) -> tuple[listings.LotFormContext, R]:
        """For a form on one record of the lot (a bag, a passage, a QC result): the lot's
        context, then record ``record_id`` among the lot's ``rows`` (read with the session,
        the person and the lot's id); :class:`NotFound` naming the ``noun`` when the lot
        has none."""
        context = listings.lot_form_context(session, who, self.lot_id)
        row = next((r for r in rows(session, who, self.lot_id) if r.id == record_id), None)
        if row is None:
            raise NotFound(f"Lot {context.lot_number} has no {noun} with id {record_id}.")
        return context, row

    def loaded_record(self, kind: type[T]) -> T:
        """The record :meth:`load_record` read when the form opened."""
        row = self.data[1]
        assert isinstance(row, kind)
        return row

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
