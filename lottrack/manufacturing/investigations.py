"""Out-of-specification investigations (design §6.6; FDA OOS guidance; Part IV §10).

An out-of-specification QC result opens an investigation on its lot at once. A retest
counts only when recorded against an open investigation, with a reason; the original
stays in the record beside every retest. QA closes the investigation with a signature
and a conclusion: an assignable laboratory error was found (the original is invalidated,
the retest stands) or not (the original stands and the lot is out of specification).
A lot with an open investigation cannot be released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CompoundSelect, or_, union
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from lottrack.kernel.inputs import clean_paragraphs, clean_text
from lottrack.manufacturing import lots
from lottrack.records import signatures
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.records.signatures import Credentials, SignatureView
from lottrack.storage import audit
from lottrack.storage.audit import row_content
from lottrack.storage.models import (
    Investigation,
    InvestigationRetest,
    Lot,
    QCResult,
    SpecItem,
    User,
    utcnow,
)

LAB_ERROR = "lab-error"
"""Conclusion: an assignable laboratory error was found; the original is invalidated."""
NO_LAB_ERROR = "no-lab-error"
"""Conclusion: no assignable laboratory error; the original result stands."""
CONCLUSIONS = {
    LAB_ERROR: "assignable laboratory error found: the original result is invalidated and "
    "the retest stands",
    NO_LAB_ERROR: "no assignable laboratory error: the original result stands (out of "
    "specification)",
}
MAX_TEXT = 2000


def open_for(session: Session, lot: Lot, result: QCResult, item: SpecItem) -> Investigation:
    """Open the investigation of an out-of-specification ``result`` (at once, by whoever
    recorded it); returns it. Called by the QC service, in the same transaction."""
    assert lot.id is not None and result.id is not None and item.id is not None
    unit = f" {result.unit}" if result.unit and result.unit not in result.value_text else ""
    inv = Investigation(
        lot_id=lot.id,
        result_id=result.id,
        spec_item_id=item.id,
        result_text=f"{item.test_name} {result.value_text}{unit} (limit {result.limit_text})"[:400],
        opened_at=utcnow(),
        opened_by=result.tester_id,
    )
    session.add(inv)
    session.flush()
    return inv


def for_item(session: Session, lot_id: int, spec_item_id: int) -> list[Investigation]:
    """The investigations of one test of a lot, oldest first."""
    return list(
        session.exec(
            select(Investigation)
            .where(Investigation.lot_id == lot_id, Investigation.spec_item_id == spec_item_id)
            .order_by(col(Investigation.id))
        ).all()
    )


def _investigation_of(session: Session, result_id: int) -> Investigation | None:
    """The investigation a result opened or was retested in."""
    inv = session.exec(select(Investigation).where(Investigation.result_id == result_id)).first()
    if inv is not None:
        return inv
    link = session.exec(
        select(InvestigationRetest).where(InvestigationRetest.result_id == result_id)
    ).first()
    return session.get(Investigation, link.investigation_id) if link is not None else None


def check_new_result(
    session: Session,
    lot: Lot,
    item: SpecItem,
    *,
    retest_of_id: int | None,
    investigation_id: int | None,
    reason: str,
) -> tuple[Investigation | None, str]:
    """Before a result of ``item`` is recorded on ``lot``: the open investigation it is a
    retest in (with the cleaned reason), or None for a first result.

    A retest names an open investigation of this test (or a result in one) and gives a
    reason. A plain result of a test under open investigation is refused (it must be a
    retest), and so is any further result of a test whose investigation concluded that
    the out-of-specification result stands.
    """
    assert lot.id is not None and item.id is not None
    if retest_of_id is None and investigation_id is None:
        for inv in for_item(session, lot.id, item.id):
            if inv.conclusion is None:
                raise InvalidTransition(
                    f"Cannot record a new {item.test_name} result: investigation #{inv.id} "
                    f"is open on {inv.result_text}; record the result as a retest against "
                    "it, with a reason."
                )
            if inv.conclusion == NO_LAB_ERROR:
                raise InvalidTransition(
                    f"Cannot record a new {item.test_name} result: investigation #{inv.id} "
                    f"concluded that {inv.result_text} stands (no laboratory error); a "
                    "later result cannot replace it."
                )
        return None, ""
    found = (
        session.get(Investigation, investigation_id)
        if investigation_id is not None
        else _investigation_of(session, retest_of_id or 0)
    )
    if found is None or found.lot_id != lot.id or found.spec_item_id != item.id:
        named = (
            f"investigation #{investigation_id}"
            if investigation_id is not None
            else f"result {retest_of_id}"
        )
        raise ValidationError(
            f"Retest of: {named} is not an investigation of a {item.test_name} result of lot "
            f"{lot.lot_number}; a retest is recorded only against an open investigation.",
            field="retest_of",
        )
    inv = found
    if inv.conclusion is not None:
        raise InvalidTransition(
            f"Cannot record a retest: investigation #{inv.id} is closed "
            f"({CONCLUSIONS[inv.conclusion]}); a retest counts only against an open "
            "investigation."
        )
    why = clean_text(reason, "Retest reason", max_length=500)
    return inv, why


def add_retest(session: Session, inv: Investigation, result: QCResult, reason: str) -> None:
    """Record ``result`` as a retest in ``inv`` with its reason."""
    assert inv.id is not None and result.id is not None
    session.add(
        InvestigationRetest(
            investigation_id=inv.id,
            result_id=result.id,
            reason=reason,
            recorded_at=utcnow(),
            recorded_by=result.tester_id,
        )
    )
    session.flush()


# ---------------------------------------------------------------------- closing


def content(session: Session, inv: Investigation) -> dict[str, Any]:
    """What a closing signature covers: the investigation (as it stands before closing
    is written), its original result and every retest."""
    retests = session.exec(
        select(InvestigationRetest)
        .where(InvestigationRetest.investigation_id == inv.id)
        .order_by(col(InvestigationRetest.id))
    ).all()
    ids = [inv.result_id, *(r.result_id for r in retests)]
    results = session.exec(
        select(QCResult).where(col(QCResult.id).in_(ids)).order_by(col(QCResult.id))
    ).all()

    def rows(objs: Iterable[Any]) -> list[dict[str, Any]]:
        return [
            row_content(o.__table__, {c.name: getattr(o, c.name) for c in o.__table__.columns})
            for o in objs
        ]

    head = {
        k: v
        for k, v in rows([inv])[0].items()
        if k not in ("conclusion", "conclusion_text", "closed_at", "closed_by", "signature_id")
    }
    return {"investigation": head, "retests": rows(retests), "results": rows(results)}


def close(
    session: Session,
    who: CurrentUser,
    creds: Credentials,
    investigation_id: int,
    *,
    lab_error: bool,
    conclusion: str,
) -> None:
    """QA closes an investigation with a signature and a conclusion.

    ``lab_error`` True: an assignable laboratory error was found; the original result is
    invalidated and the latest retest stands (at least one retest is needed). False: the
    original result stands and the test is out of specification for release. The person
    who recorded the original or a retest cannot close it.
    """
    authorize(session, who, Action.CLOSE_QUALITY_RECORD)
    inv = session.get(Investigation, investigation_id)
    if inv is None:
        raise NotFound(f"No investigation with id {investigation_id}.")
    lot = lots.get_lot(session, inv.lot_id, for_update=True)
    session.refresh(inv)
    if inv.conclusion is not None:
        raise InvalidTransition(
            f"Investigation #{inv.id} is already closed ({CONCLUSIONS[inv.conclusion]})."
        )
    text = clean_paragraphs(conclusion or "", "Conclusion", max_length=MAX_TEXT)
    retests = session.exec(
        select(InvestigationRetest).where(InvestigationRetest.investigation_id == inv.id)
    ).all()
    if lab_error and not retests:
        raise ValidationError(
            f"Conclusion: investigation #{inv.id} has no retest; a laboratory error "
            "invalidates the original only when a retest stands in its place.",
            field="conclusion",
        )
    testers = {r.recorded_by for r in retests} | {inv.opened_by}
    if who.id in testers:
        raise PermissionDenied(
            f"{who.full_name} recorded a result of investigation #{inv.id} and so may not "
            "close it (separation of duties)."
        )
    signature = signatures.sign(
        session,
        who,
        creds,
        meaning="concluded",
        record_type="investigation",
        record_id=inv.id or 0,
        content=content(session, inv),
    )
    verdict = LAB_ERROR if lab_error else NO_LAB_ERROR
    with audit.reason(session, f"investigation closed: {CONCLUSIONS[verdict]}"):
        inv.conclusion = verdict
        inv.conclusion_text = text
        inv.closed_at = utcnow()
        inv.closed_by = who.id
        inv.signature_id = signature.id
    session.flush()
    assert lot.id is not None


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True)
class RetestView:
    """A retest in an investigation."""

    result_id: int
    value_text: str
    conforms: bool | None
    tested_at: dt.datetime
    reason: str
    recorded_by: str


@dataclass(frozen=True)
class InvestigationView:
    """An investigation as the batch record, the QA screen and the certificate show it."""

    id: int
    lot_id: int
    result_id: int
    test_name: str
    result_text: str
    opened_at: dt.datetime
    opened_by: str
    retests: tuple[RetestView, ...]
    conclusion: str | None
    conclusion_text: str
    closed_at: dt.datetime | None
    closed_by: str | None
    signature: SignatureView | None

    @property
    def is_open(self) -> bool:
        """True until QA closes it."""
        return self.conclusion is None

    @property
    def summary(self) -> str:
        """One line: what, and open or its conclusion."""
        state = "OPEN" if self.conclusion is None else CONCLUSIONS[self.conclusion]
        return f"Investigation #{self.id}: {self.result_text} — {state}"


def _of_lot(session: Session, lot_id: int) -> list[Investigation]:
    """The lot's investigations, oldest first (one statement for :func:`views` and
    :func:`result_notes`, which a read session sends once)."""
    return list(
        session.exec(
            select(Investigation)
            .where(Investigation.lot_id == lot_id)
            .order_by(col(Investigation.id))
        ).all()
    )


def _retests_of(session: Session, investigation_ids: list[int]) -> list[InvestigationRetest]:
    """The retests linked to these investigations, in the order linked."""
    return list(
        session.exec(
            select(InvestigationRetest)
            .where(col(InvestigationRetest.investigation_id).in_(investigation_ids))
            .order_by(col(InvestigationRetest.id))
        ).all()
    )


def views(session: Session, lot_id: int) -> list[InvestigationView]:
    """Every investigation of the lot, oldest first, with retests and signatures."""
    invs = _of_lot(session, lot_id)
    if not invs:
        return []
    links = _retests_of(session, [i.id for i in invs if i.id is not None])
    results = (
        {
            r.id: r
            for r in session.exec(
                select(QCResult).where(col(QCResult.id).in_([link.result_id for link in links]))
            ).all()
        }
        if links
        else {}
    )
    people = {u.id: u.full_name for u in session.exec(select(User)).all()}
    tests = {
        i.id: i.test_name
        for i in session.exec(
            select(SpecItem).where(col(SpecItem.id).in_([inv.spec_item_id for inv in invs]))
        ).all()
    }
    out = []
    for inv in invs:
        assert inv.id is not None
        retests = tuple(
            RetestView(
                link.result_id,
                results[link.result_id].value_text,
                results[link.result_id].conforms,
                results[link.result_id].tested_at,
                link.reason,
                people.get(link.recorded_by, "?"),
            )
            for link in links
            if link.investigation_id == inv.id
        )
        sig = None
        if inv.signature_id is not None:
            s = session.get(signatures.Signature, inv.signature_id)
            sig = signatures.view(s, content(session, inv)) if s is not None else None
        out.append(
            InvestigationView(
                inv.id,
                inv.lot_id,
                inv.result_id,
                tests.get(inv.spec_item_id, "?"),
                inv.result_text,
                inv.opened_at,
                people.get(inv.opened_by, "?"),
                retests,
                inv.conclusion,
                inv.conclusion_text,
                inv.closed_at,
                people.get(inv.closed_by) if inv.closed_by is not None else None,
                sig,
            )
        )
    return out


def list_for_lot(session: Session, who: CurrentUser, lot_id: int) -> list[InvestigationView]:
    """:func:`views` for a person who may read the batch record."""
    authorize(session, who, Action.VIEW_BATCH_RECORD)
    lots.get_lot(session, lot_id)
    return views(session, lot_id)


@dataclass(frozen=True)
class Standing:
    """How investigations bear on the results of some lots (for readiness and lists)."""

    not_counted: frozenset[int]
    """Results that count for nothing: invalidated originals, and retests of an open
    investigation or of one that concluded the original stands."""
    deciding: dict[tuple[int, int], int]
    """(lot id, test id) → the original result that stands (no laboratory error)."""
    open_by_lot: dict[int, tuple[str, ...]]
    """Lot id → its open investigations, each in words."""


def not_counted_ids() -> CompoundSelect[Any]:
    """The ids of the results that count for nothing, as a query (``Standing.not_counted``
    of every lot, for a list that tests results in SQL): the originals a laboratory error
    invalidated, and the retests of an investigation open or concluded without one."""
    invalidated = sa_select(col(Investigation.result_id)).where(
        col(Investigation.conclusion) == LAB_ERROR
    )
    retests = (
        sa_select(col(InvestigationRetest.result_id))
        .join(Investigation, col(Investigation.id) == col(InvestigationRetest.investigation_id))
        .where(
            or_(col(Investigation.conclusion).is_(None), col(Investigation.conclusion) != LAB_ERROR)
        )
    )
    return union(invalidated, retests)


def standing(session: Session, lot_ids: Any) -> Standing:
    """The :class:`Standing` of the lots ``lot_ids`` (ids, or a query of ids); two reads."""
    # Columns, not mapped objects: the technician's list reads the investigations of
    # thousands of lots (#18).
    invs = session.execute(
        sa_select(
            col(Investigation.id),
            col(Investigation.lot_id),
            col(Investigation.result_id),
            col(Investigation.spec_item_id),
            col(Investigation.result_text),
            col(Investigation.conclusion),
        )
        .where(col(Investigation.lot_id).in_(lot_ids))
        .order_by(col(Investigation.id))
    ).all()
    links = session.exec(  # read whether or not there are investigations: a fixed count
        select(InvestigationRetest.investigation_id, InvestigationRetest.result_id)
        .join(Investigation, col(Investigation.id) == col(InvestigationRetest.investigation_id))
        .where(col(Investigation.lot_id).in_(lot_ids))
    ).all()
    not_counted: set[int] = set()
    deciding: dict[tuple[int, int], int] = {}
    open_by_lot: dict[int, list[str]] = {}
    conclusions: dict[int | None, str | None] = {}
    for inv_id, lot_id, result_id, item_id, result_text, conclusion in invs:
        conclusions[inv_id] = conclusion
        if conclusion == LAB_ERROR:
            not_counted.add(result_id)
        elif conclusion == NO_LAB_ERROR:
            deciding[lot_id, item_id] = result_id
        else:
            open_by_lot.setdefault(lot_id, []).append(
                f"investigation #{inv_id} open: {result_text}"
            )
    for investigation_id, result_id in links:
        if conclusions[investigation_id] != LAB_ERROR:
            not_counted.add(result_id)
    return Standing(frozenset(not_counted), deciding, {k: tuple(v) for k, v in open_by_lot.items()})


def result_notes(session: Session, lot_id: int) -> dict[int, str]:
    """Result id → how an investigation bears on it, in words (for the results table)."""
    invs = _of_lot(session, lot_id)
    if not invs:
        return {}
    by_id = {inv.id: inv for inv in invs if inv.id is not None}
    notes: dict[int, str] = {}
    for inv in invs:
        notes[inv.result_id] = {
            None: f"opened investigation #{inv.id} (open)",
            LAB_ERROR: f"invalidated: laboratory error (investigation #{inv.id})",
            NO_LAB_ERROR: f"stands: no laboratory error (investigation #{inv.id})",
        }[inv.conclusion]
    for link in _retests_of(session, list(by_id)):
        inv = by_id[link.investigation_id]
        notes[link.result_id] = {
            None: f"retest in open investigation #{inv.id}",
            LAB_ERROR: f"retest stands (investigation #{inv.id})",
            NO_LAB_ERROR: f"retest not counted: the original stands (investigation #{inv.id})",
        }[inv.conclusion] + f"; reason: {link.reason}"
    return notes


def require_not_investigated(session: Session, result_id: int, doing: str) -> None:
    """Refuse ``doing`` to a result that opened an investigation or is a retest in one:
    it stays in the record, and QA's conclusion decides whether it counts."""
    inv = _investigation_of(session, result_id)
    if inv is not None:
        raise InvalidTransition(
            f"Cannot {doing}: it belongs to investigation #{inv.id} ({inv.result_text}); "
            "QA's conclusion of the investigation decides whether it counts."
        )
