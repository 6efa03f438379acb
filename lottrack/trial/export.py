"""``lottrack export``: the trial's data for the data manager (design §11).

Blinded unless the person running it is unblinded: a blinded export holds nothing that
differs by arm (no allocation, no bag kind, no cell count, no dose, no lot link); an
unblinded one says so in the name of every file. Text cells that a spreadsheet would run
as a formula are neutralised in CSV files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.private_files import private_dir, replacing
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import (
    Allocation,
    Deviation,
    Dispensing,
    Infusion,
    Investigation,
    Lot,
    ProductUnit,
    Subject,
    Unblinding,
    Visit,
    WeightMeasurement,
)

FORMATS = ("csv", "json")


@dataclass(frozen=True)
class ExportResult:
    """What was written."""

    directory: Path
    files: tuple[str, ...]
    blinded: bool


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _tables(session: Session, who: CurrentUser) -> dict[str, list[dict[str, Any]]]:
    subjects = {s.id: s for s in session.exec(select(Subject).order_by(col(Subject.code))).all()}
    tables: dict[str, list[dict[str, Any]]] = {
        "subjects": [
            {
                "subject_code": s.code,
                "initials": s.initials,
                "date_of_birth": s.date_of_birth,
                "unblinded": s.unblinded_at is not None,
            }
            for s in subjects.values()
        ],
        "weights": [
            {
                "subject_code": subjects[w.subject_id].code,
                "measured_at": w.measured_at,
                "weight_kg": w.weight_kg,
                "as_typed": w.weight_text,
            }
            for w in session.exec(
                select(WeightMeasurement)
                .where(col(WeightMeasurement.voided_reason).is_(None))
                .order_by(col(WeightMeasurement.measured_at))
            ).all()
        ],
        "visits": _visits_plain(session, with_kit_codes=who.unblinded),
        "unblindings": [
            {"subject_code": subjects[u.subject_id].code, "at": u.at, "reason": u.reason}
            for u in session.exec(select(Unblinding).order_by(col(Unblinding.at))).all()
        ],
        "quality_records": _quality_records(session),
    }
    if who.unblinded:
        tables["allocation"] = [
            {"subject_code": subjects[a.subject_id].code, "sequence": a.sequence}
            for a in session.exec(select(Allocation)).all()
        ]
        tables["dispensing"] = [
            {
                "visit_id": d.visit_id,
                "kit_code": u.kit_code,
                "kind": u.kind,
                "viable_cells": u.viable_cells,
                "weight_kg": d.weight_kg,
                "dose_cells_per_kg": d.dose_cells_per_kg,
            }
            for d, u in session.exec(
                select(Dispensing, ProductUnit)
                .join(ProductUnit, col(ProductUnit.id) == col(Dispensing.unit_id))
                .order_by(col(Dispensing.id))
            ).all()
        ]
    return tables


def _quality_records(session: Session) -> list[dict[str, Any]]:
    """Every OOS investigation and deviation of every lot, open ones saying so (a lot
    cannot be released while one is open; design §6.6–§6.7). Nothing here differs by arm:
    each subject has one MSC lot whatever their sequence, and these records are written by
    blinded people about that lot."""
    lot_names = dict(
        session.exec(
            select(Lot.id, Subject.code).join(Subject, col(Subject.id) == col(Lot.subject_id))
        ).all()
    )
    numbers = dict(session.exec(select(Lot.id, Lot.lot_number)).all())
    rows: list[dict[str, Any]] = []
    for inv in session.exec(select(Investigation).order_by(col(Investigation.id))).all():
        rows.append(
            {
                "lot_number": numbers[inv.lot_id],
                "subject_code": lot_names[inv.lot_id],
                "record": f"investigation #{inv.id}",
                "opened_at": inv.opened_at,
                "state": "open" if inv.conclusion is None else f"closed: {inv.conclusion}",
                "what": inv.result_text,
                "closed_at": inv.closed_at,
                "conclusion": inv.conclusion_text,
            }
        )
    for dev in session.exec(select(Deviation).order_by(col(Deviation.id))).all():
        rows.append(
            {
                "lot_number": numbers[dev.lot_id],
                "subject_code": lot_names[dev.lot_id],
                "record": f"{'planned' if dev.planned else 'unplanned'} deviation #{dev.id}",
                "opened_at": dev.opened_at,
                "state": "open" if dev.closed_at is None else "closed",
                "what": dev.description,
                "closed_at": dev.closed_at,
                "conclusion": dev.closure,
            }
        )
    return rows


def _visits_plain(session: Session, *, with_kit_codes: bool) -> list[dict[str, Any]]:
    """Visit rows with nothing that differs by arm. A blinded export has no kit code: a
    reader who also knows the kit codes of a lot's bags would read the arm of a visit from
    it (design §7)."""
    out = []
    for v in session.exec(
        select(Visit).order_by(col(Visit.planned_date), col(Visit.subject_id), col(Visit.period))
    ):
        subject = session.get(Subject, v.subject_id)
        dispensing = session.exec(select(Dispensing).where(Dispensing.visit_id == v.id)).first()
        unit = session.get(ProductUnit, dispensing.unit_id) if dispensing else None
        infusion = (
            session.exec(select(Infusion).where(Infusion.dispensing_id == dispensing.id)).first()
            if dispensing
            else None
        )
        out.append(
            {
                "visit_id": v.id,
                "subject_code": subject.code if subject else None,
                "period": v.period,
                "planned_date": v.planned_date,
                "status": v.status,
                **({"kit_code": unit.kit_code if unit else None} if with_kit_codes else {}),
                "volume_ml": unit.volume_ml if unit else None,
                "started_at": infusion.started_at if infusion else None,
                "ended_at": infusion.ended_at if infusion else None,
                "reactions": infusion.reactions if infusion else "",
                "reaction_grade": infusion.reaction_grade if infusion else None,
            }
        )
    return out


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a cell starts when a spreadsheet would run it as a formula (CSV injection)."""

UNBLINDED_PREFIX = "unblinded-"
"""Every file of an unblinded export carries it, so that no copy of one passes for a
blinded file."""


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, made inert by a leading
    apostrophe (the text stays readable); other values are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _write_table(path: Path, fmt: str, rows: list[dict[str, Any]]) -> None:
    plain = [{k: _plain(v) for k, v in r.items()} for r in rows]
    with replacing(path) as raw:
        fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        if fmt == "json":
            json.dump(plain, fh, ensure_ascii=False, indent=1)
        else:
            fields = list(plain[0]) if plain else []
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows({k: spreadsheet_safe(v) for k, v in r.items()} for r in plain)
        fh.flush()
        fh.detach()  # the file stays open for replacing() to sync and rename


def export(session: Session, who: CurrentUser, *, fmt: str, directory: Path) -> ExportResult:
    """Write one file per table into ``directory`` (created, owner-only, if needed); each
    file is owner-only and written through an exclusive temporary file and a rename. The
    files of an unblinded export are named ``unblinded-….``"""
    authorize(session, who, Action.EXPORT)
    if fmt not in FORMATS:
        raise ValidationError(f"Format: {fmt!r} is not csv or json.", field="format")
    tables = _tables(session, who)
    directory = private_dir(Path(directory))
    prefix = UNBLINDED_PREFIX if who.unblinded else ""
    written = []
    for name, rows in tables.items():
        path = directory / f"{prefix}{name}.{fmt}"
        _write_table(path, fmt, rows)
        written.append(path.name)
    audit.log_event(
        session,
        "export",
        "trial",
        "",
        reason=f"{fmt} to {directory}",
        changes={"blinded": not who.unblinded, "files": written},
    )
    return ExportResult(directory, tuple(written), not who.unblinded)
