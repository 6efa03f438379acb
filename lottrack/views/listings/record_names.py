"""Names of audited records as people say them ("Passage P3 of L-A999926000003"), for the
audit trail on screen: never a table name and a number.

A bag is named by its kit code alone, and only for an unblinded reader: the audit trail
is read by blinded roles (QA, administrators), and a kit code seen in a lot's records
would tell them which bag at the bedside is MSC (design §7); they read "Bag (blinded)".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from lottrack.storage.models import (
    CellCount,
    CountReplicate,
    CustodyEvent,
    Deviation,
    Dispensing,
    DispensingCheck,
    Disposition,
    Harvest,
    Infusion,
    Investigation,
    Lot,
    Passage,
    PassageReagent,
    ProductUnit,
    QCResult,
    ReagentLot,
    Signature,
    Site,
    Specification,
    SpecItem,
    Subject,
    User,
    Visit,
    WeightMeasurement,
)

RecordKey = tuple[str, str]
"""(entity, entity id) as the audit trail stores them."""

TITLES = {
    "lot": "Lot",
    "harvest": "Harvest",
    "passage": "Passage",
    "passage_reagent": "Reagent used",
    "cell_count": "Count",
    "count_replicate": "Replicate",
    "qc_result": "QC result",
    "product_unit": "Bag",
    "custody_event": "Custody move",
    "disposition": "Decision",
    "signature": "Signature",
    "subject": "Subject",
    "visit": "Visit",
    "user": "User",
    "site": "Site",
    "setting": "Setting",
    "specification": "Specification",
    "spec_item": "Specification item",
    "reagent_lot": "Reagent lot",
    "allocation": "Allocation",
    "dispensing": "Dispensing",
    "dispensing_check": "Dispensing check",
    "infusion": "Infusion",
    "unblinding": "Unblinding",
    "weight_measurement": "Weight",
    "certificate": "Document",
    "issued_din": "DIN",
    "trial": "Trial",
    "export": "Export",
    "audit_event": "Audit trail",
}
"""What each audited table holds, in words (the fallback name is this and the id)."""


def title_of(entity: str) -> str:
    """``Passage`` for ``passage``; an unknown table reads as its words."""
    return TITLES.get(entity, entity.replace("_", " ").capitalize())


def _ints(ids: Iterable[str]) -> list[int]:
    return [int(i) for i in ids if i.isdigit()]


def _lot_numbers(session: Session, lot_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(lot_ids)
    if not wanted:
        return {}
    return {
        i: n
        for i, n in session.exec(
            select(Lot.id, Lot.lot_number).where(col(Lot.id).in_(wanted))
        ).all()
        if i is not None
    }


def _passage_names(session: Session, ids: list[int]) -> dict[int, str]:
    rows = session.exec(
        select(Passage.id, Passage.number, Lot.lot_number)
        .join(Lot, col(Lot.id) == col(Passage.lot_id))
        .where(col(Passage.id).in_(ids))
    ).all()
    return {i: f"Passage P{n} of {lot}" for i, n, lot in rows if i is not None}


BLINDED_BAG = "Bag (blinded)"


def _names(session: Session, entity: str, ids: list[int]) -> dict[int, str]:
    """Names of ``ids`` of one table (the ones it can name)."""
    namers: dict[str, Callable[[], Iterable[tuple[Any, str]]]] = {
        "lot": lambda: ((i, f"Lot {n}") for i, n in _lot_numbers(session, ids).items()),
        "harvest": lambda: (
            (i, f"Harvest of {code} (DIN {din})")
            for i, din, code in session.exec(
                select(Harvest.id, Harvest.din, Subject.code)
                .join(Subject, col(Subject.id) == col(Harvest.subject_id))
                .where(col(Harvest.id).in_(ids))
            ).all()
        ),
        "passage": lambda: _passage_names(session, ids).items(),
        "passage_reagent": lambda: _reagents_used(session, ids),
        "cell_count": lambda: (
            (i, f"Count ({target}) of {lot}")
            for i, target, lot in session.exec(
                select(CellCount.id, CellCount.target, Lot.lot_number)
                .join(Lot, col(Lot.id) == col(CellCount.lot_id))
                .where(col(CellCount.id).in_(ids))
            ).all()
        ),
        "count_replicate": lambda: (
            (i, f"Replicate {pos} of count ({target}) of {lot}")
            for i, pos, target, lot in session.exec(
                select(CountReplicate.id, CountReplicate.position, CellCount.target, Lot.lot_number)
                .join(CellCount, col(CellCount.id) == col(CountReplicate.count_id))
                .join(Lot, col(Lot.id) == col(CellCount.lot_id))
                .where(col(CountReplicate.id).in_(ids))
            ).all()
        ),
        "qc_result": lambda: (
            (i, f"QC {test} of {lot}")
            for i, test, lot in session.exec(
                select(QCResult.id, SpecItem.test_name, Lot.lot_number)
                .join(SpecItem, col(SpecItem.id) == col(QCResult.spec_item_id))
                .join(Lot, col(Lot.id) == col(QCResult.lot_id))
                .where(col(QCResult.id).in_(ids))
            ).all()
        ),
        "product_unit": lambda: (
            (i, f"Bag {kit}")
            for i, kit in session.exec(
                select(ProductUnit.id, ProductUnit.kit_code).where(col(ProductUnit.id).in_(ids))
            ).all()
        ),
        "custody_event": lambda: (
            (i, f"Custody move of bag {kit}")
            for i, kit in session.exec(
                select(CustodyEvent.id, ProductUnit.kit_code)
                .join(ProductUnit, col(ProductUnit.id) == col(CustodyEvent.unit_id))
                .where(col(CustodyEvent.id).in_(ids))
            ).all()
        ),
        "disposition": lambda: (
            (i, f"Decision ({d}) on {lot}")
            for i, d, lot in session.exec(
                select(Disposition.id, Disposition.decision, Lot.lot_number)
                .join(Lot, col(Lot.id) == col(Disposition.lot_id))
                .where(col(Disposition.id).in_(ids))
            ).all()
        ),
        "signature": lambda: (
            (i, f"Signature ({meaning}) of {name}")
            for i, meaning, name in session.exec(
                select(Signature.id, Signature.meaning, Signature.printed_name).where(
                    col(Signature.id).in_(ids)
                )
            ).all()
        ),
        "subject": lambda: (
            (i, f"Subject {code}")
            for i, code in session.exec(
                select(Subject.id, Subject.code).where(col(Subject.id).in_(ids))
            ).all()
        ),
        "visit": lambda: ((i, f"Visit {n}") for i, n in _visit_names(session, ids).items()),
        "investigation": lambda: _numbered_on_lot(session, Investigation, ids),
        "deviation": lambda: _numbered_on_lot(session, Deviation, ids),
        "dispensing": lambda: _dispensings(session, ids),
        "dispensing_check": lambda: _dispensing_checks(session, ids),
        "infusion": lambda: _infusions(session, ids),
        "weight_measurement": lambda: (
            (i, f"Weight of {code}")
            for i, code in session.exec(
                select(WeightMeasurement.id, Subject.code)
                .join(Subject, col(Subject.id) == col(WeightMeasurement.subject_id))
                .where(col(WeightMeasurement.id).in_(ids))
            ).all()
        ),
        "user": lambda: (
            (i, f"User {u}")
            for i, u in session.exec(
                select(User.id, User.username).where(col(User.id).in_(ids))
            ).all()
        ),
        "site": lambda: (
            (i, f"Site {n}")
            for i, n in session.exec(select(Site.id, Site.name).where(col(Site.id).in_(ids))).all()
        ),
        "reagent_lot": lambda: (
            (i, f"Reagent lot {n} {lot}")
            for i, n, lot in session.exec(
                select(ReagentLot.id, ReagentLot.name, ReagentLot.lot_number).where(
                    col(ReagentLot.id).in_(ids)
                )
            ).all()
        ),
        "spec_item": lambda: (
            (i, f"{test} (specification version {v})")
            for i, test, v in session.exec(
                select(SpecItem.id, SpecItem.test_name, Specification.version)
                .join(Specification, col(Specification.id) == col(SpecItem.spec_id))
                .where(col(SpecItem.id).in_(ids))
            ).all()
        ),
        "specification": lambda: (
            (i, f"Specification version {v}")
            for i, v in session.exec(
                select(Specification.id, Specification.version).where(
                    col(Specification.id).in_(ids)
                )
            ).all()
        ),
    }
    namer = namers.get(entity)
    return {} if namer is None else {int(i): name for i, name in namer() if i is not None}


def _numbered_on_lot(
    session: Session, table: type[Investigation] | type[Deviation], ids: list[int]
) -> Iterable[tuple[Any, str]]:
    """``Investigation #1 of L-…``: a record numbered on its own, named with its lot."""
    title = title_of(str(table.__tablename__))
    return (
        (i, f"{title} #{i} of {lot}")
        for i, lot in session.exec(
            select(table.id, Lot.lot_number)
            .join(Lot, col(Lot.id) == col(table.lot_id))
            .where(col(table.id).in_(ids))
        ).all()
    )


def _visit_names(session: Session, visit_ids: Iterable[int]) -> dict[int, str]:
    """``period 1 of TLS-008`` for each visit: the same words for both arms."""
    wanted = set(visit_ids)
    if not wanted:
        return {}
    return {
        i: f"period {p} of {code}"
        for i, p, code in session.exec(
            select(Visit.id, Visit.period, Subject.code)
            .join(Subject, col(Subject.id) == col(Visit.subject_id))
            .where(col(Visit.id).in_(wanted))
        ).all()
        if i is not None
    }


def _dispensings(session: Session, ids: list[int]) -> Iterable[tuple[Any, str]]:
    """``Dispensing for period 1 of TLS-008``: trial records are named by their visit, so
    that a search for the subject's code finds them."""
    rows = session.exec(
        select(Dispensing.id, Dispensing.visit_id).where(col(Dispensing.id).in_(ids))
    ).all()
    visits = _visit_names(session, [v for _, v in rows])
    return ((i, f"Dispensing for {visits[v]}") for i, v in rows if v in visits)


def _dispensing_checks(session: Session, ids: list[int]) -> Iterable[tuple[Any, str]]:
    rows = session.exec(
        select(
            DispensingCheck.id, DispensingCheck.number, DispensingCheck.stage, Dispensing.visit_id
        )
        .join(Dispensing, col(Dispensing.id) == col(DispensingCheck.dispensing_id))
        .where(col(DispensingCheck.id).in_(ids))
    ).all()
    visits = _visit_names(session, [v for *_, v in rows])
    return (
        (i, f"Check {n} ({stage}) of the dispensing for {visits[v]}")
        for i, n, stage, v in rows
        if v in visits
    )


def _infusions(session: Session, ids: list[int]) -> Iterable[tuple[Any, str]]:
    rows = session.exec(
        select(Infusion.id, Dispensing.visit_id)
        .join(Dispensing, col(Dispensing.id) == col(Infusion.dispensing_id))
        .where(col(Infusion.id).in_(ids))
    ).all()
    visits = _visit_names(session, [v for _, v in rows])
    return ((i, f"Infusion, {visits[v]}") for i, v in rows if v in visits)


def _reagents_used(session: Session, ids: list[int]) -> Iterable[tuple[Any, str]]:
    rows = session.exec(
        select(PassageReagent.id, PassageReagent.passage_id, ReagentLot.name)
        .join(ReagentLot, col(ReagentLot.id) == col(PassageReagent.reagent_lot_id))
        .where(col(PassageReagent.id).in_(ids))
    ).all()
    passages = _passage_names(session, [p for _, p, _ in rows])
    for i, passage_id, name in rows:
        on = passages.get(passage_id, f"passage #{passage_id}").replace("Passage ", "")
        yield i, f"{name} used on {on}"


def record_names(
    session: Session, keys: Iterable[RecordKey], *, blinded: bool = True
) -> dict[RecordKey, str]:
    """A name for every (entity, id) given: read in one statement per table; a record
    that is gone (or a table without a name) reads as its title and id (``Setting #4``).
    For a ``blinded`` reader a bag and its moves are named without the kit code."""
    by_entity: dict[str, set[str]] = defaultdict(set)
    for entity, entity_id in keys:
        by_entity[entity].add(entity_id)
    out: dict[RecordKey, str] = {}
    for entity, ids in by_entity.items():
        if blinded and entity in ("product_unit", "custody_event"):
            masked = BLINDED_BAG if entity == "product_unit" else "Custody move of a bag"
            out.update({(entity, i): masked for i in ids})
            continue
        named = _names(session, entity, _ints(ids))
        for entity_id in ids:
            name = named.get(int(entity_id)) if entity_id.isdigit() else None
            out[(entity, entity_id)] = name or " #".join(
                filter(None, (title_of(entity), entity_id))
            )
    return out


Changes = Mapping[str, Any]
"""An audit event's changes as stored: ``{field: [old, new]}``."""


@cache
def references(entity: str) -> dict[str, str]:
    """The fields of ``entity`` that hold another record's id, and that record's table
    (``{"lot_id": "lot", "recorded_by": "user"}``), read from the schema."""
    table = SQLModel.metadata.tables.get(entity)
    if table is None:
        return {}
    return {
        column.name: next(iter(column.foreign_keys)).column.table.name
        for column in table.columns
        if column.foreign_keys
    }


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def reference_keys(events: Iterable[tuple[str, Changes]]) -> set[RecordKey]:
    """The records whose ids ``events``' changes hold (``("user", "7")`` for
    ``recorded_by=7``), to be named with the events' own records in one
    :func:`record_names` call."""
    return {
        (target, str(value))
        for entity, changes in events
        for field, target in references(entity).items()
        if field in changes
        for value in _pair(changes[field])
        if _is_id(value)
    }


def with_references_named(
    entity: str, changes: Changes, names: Mapping[RecordKey, str]
) -> dict[str, Any]:
    """``changes`` with the ids of other records replaced by their ``names`` (from
    :func:`record_names` over :func:`reference_keys`): ``recorded_by=7`` reads
    ``recorded_by=User tech`` and ``subject_id=3`` reads ``subject=Subject TLS-003``."""
    refs = references(entity)
    named: dict[str, Any] = {}
    for field, pair in changes.items():
        target = refs.get(field)
        if target is None:
            named[field] = pair
            continue
        values = [names.get((target, str(v)), v) if _is_id(v) else v for v in _pair(pair)]
        named[field.removesuffix("_id")] = values if isinstance(pair, list) else values[0]
    return named


def _pair(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]
