"""Bulk steps of the trial: weights, allocation and visits, dispensing with its checks and
second verification, the bedside check and the infusion.

Each function mirrors its service in :mod:`lottrack.trial` (same rows, flushes, reasons
and signature contents); the six §8 checks are computed with the services' rules and
worded as the services word them, and a bulk dispensing whose checks would fail is
refused.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from lottrack.demo.bulk.batch import Batch
from lottrack.demo.bulk.facility import Facility, Person, fmt_at_site, require
from lottrack.demo.bulk.manufacturing import MINUTE, SECOND, Made, Row
from lottrack.kernel import calc
from lottrack.kernel.units import Dim, format_quantity
from lottrack.manufacturing import lots
from lottrack.manufacturing.bag_codes import DIVISION_LETTERS, KIT_CODE_LENGTH, KIT_CODE_PREFIX
from lottrack.storage.models import Dispensing
from lottrack.trial.allocation import MSC, PLACEBO, arm_for, arm_name
from lottrack.trial.dispense_checks import dose_detail
from lottrack.trial.dispensing import dispensing_content, expiry_outcome


def weight(b: Batch, fac: Facility, subject: Row, kg: float, at: dt.datetime) -> Row:
    """``visits.record_weight``."""
    nurse = fac.who("clinician")
    typed = fac.typed(f"{kg:g} kg", Dim.MASS)
    calc.check_weight(typed.value)
    b.step(nurse.actor)
    return b.add(
        "weight_measurement",
        {
            "subject_id": subject["id"],
            "measured_at": fac.moment(at, "Measured at"),
            "weight_kg": typed.value,
            "weight_text": typed.text,
            "recorded_by": nurse.id,
        },
    )


def enrol(
    b: Batch, fac: Facility, subject: Row, sequence: str, week0: dt.date, at: dt.datetime
) -> tuple[Row, Row]:
    """``allocation.assign`` from the sealed list, then ``visits.schedule``."""
    pharmacist = fac.who("pharmacist")
    b.step(pharmacist.actor)
    b.add(
        "allocation",
        {
            "subject_id": subject["id"],
            "sequence": sequence,
            "source": "sealed list (demo)",
            "created_at": at,
            "created_by": pharmacist.id,
        },
    )
    visits = tuple(
        b.add(
            "visit",
            {
                "subject_id": subject["id"],
                "period": period,
                "status": "planned",
                "planned_date": week0 + dt.timedelta(weeks=fac.period2_weeks * (period - 1)),
                "created_at": at + MINUTE,
            },
        )
        for period in (1, 2)
    )
    return visits[0], visits[1]


@dataclass
class Dispensed:
    """A dispensing and what it involved."""

    row: Row
    visit: Row
    unit: Row
    lot_status: str


@dataclass(frozen=True)
class Check:
    """One §8 check as ``lottrack.trial.dispensing`` stores it."""

    number: int
    name: str
    passed: bool
    detail: str


def _checks(
    fac: Facility,
    made: Made,
    visit: Row,
    unit: Row,
    released: str,
    reagent: Row | None,
    at: dt.datetime,
    use_by: dt.datetime,
) -> list[Check]:
    """Checks 1–3 (identity, release, expiry until the use-by), as both pharmacists make
    them."""
    s = made.subject
    who = f"{s['code']} (born {s['date_of_birth']})"
    # As dispensing._check_release words it: the subject's own MSC lot for both arms (its
    # release signature is valid: the bulk builder signs what it releases), and a placebo
    # bag's suspension media too.
    lot_ok = released in lots.DISPENSABLE
    lot_detail = f"lot {made.lot['lot_number']} is {released} (signature valid)"
    if reagent is None:
        release = Check(2, "lot released", lot_ok, lot_detail)
    else:
        release = Check(
            2,
            "lot released",
            lot_ok and reagent["status"] == "released",
            f"{lot_detail}; {reagent['name']} lot {reagent['lot_number']} is {reagent['status']}",
        )
    expiry = expiry_outcome(
        expires_at=unit["expires_at"],
        cryopreserved=unit["cryopreserved"],
        thawed_at=unit["thawed_at"],
        thaw_max_minutes=fac.spec.thaw_max_minutes,
        now=at,
        use_by=use_by,
        zone=fac.site.timezone,
    )
    return [
        Check(
            1,
            "chain of identity",
            unit["subject_id"] == visit["subject_id"],
            f"bag {unit['kit_code']} belongs to {who}; visit is for {who}",
        ),
        release,
        Check(expiry.number, expiry.name, expiry.passed, expiry.detail),
    ]


def dispense(
    b: Batch,
    fac: Facility,
    made: Made,
    visit: Row,
    sequence: str,
    scale: Row,
    at: dt.datetime,
    *,
    placebo_media: Row | None = None,
) -> Dispensed:
    """``dispensing.prepare``: the MSC bag (or a placebo bag of suspension media matching
    its volume), checks 1–6, the ``dose-verified`` signature."""
    pharmacist = fac.who("pharmacist")
    require(visit["status"] == "planned", "the visit is already dispensed")
    arm = arm_for(sequence, visit["period"])
    msc = made.bag
    assert msc is not None
    if placebo_media is not None:
        require(placebo_media["expiry"] >= at.date(), "the suspension media has expired")
        taken = {msc["division"]}
        division = secrets.choice([f"{x}0" for x in DIVISION_LETTERS if f"{x}0" not in taken])
        b.step(pharmacist.actor)
        unit = b.add(
            "product_unit",
            {
                "kind": PLACEBO,
                "subject_id": visit["subject_id"],
                "reagent_lot_id": placebo_media["id"],
                "din": msc["din"],
                "product_code": msc["product_code"][:6] + division,
                "division": division,
                "kit_code": fac.random_code(KIT_CODE_PREFIX, KIT_CODE_LENGTH),
                "volume_ml": msc["volume_ml"],
                "volume_text": msc["volume_text"],
                "formulated_at": at,
                "expires_at": at + dt.timedelta(hours=fac.spec.fresh_shelf_life_hours),
                "storage": msc["storage"],
                "status": "available",
                "created_by": pharmacist.id,
            },
        )
    else:
        require(msc["status"] == "available", "the bag was already dispensed")
        unit = msc
    age = calc.weight_age(scale["measured_at"], at, max_age_days=fac.weight_max_age_days)
    plausible = calc.check_weight(scale["weight_kg"])
    detail = (
        f"{format_quantity(scale['weight_kg'], Dim.MASS)} measured "
        f"{fmt_at_site(scale['measured_at'], fac.site)}, {age.age_days:.1f} days ago "
        f"(limit {fac.weight_max_age_days:g} days)"
    )
    if plausible.warning:
        detail += f"; warning: {plausible.warning}"
    dose: float | None = None
    if unit["kind"] == MSC:
        result = calc.check_dose(
            weight_kg=scale["weight_kg"], viable_cells=unit["viable_cells"], window=fac.dose_window
        )
        dose = result.dose_cells_per_kg
        dose_check = Check(
            5,
            "dose within window",
            result.within,
            dose_detail(unit["viable_cells"], scale["weight_kg"], result),
        )
    else:
        dose_check = Check(5, "dose within window", True, "not applicable (placebo)")
    use_by = at + fac.administration_window
    checks = [
        *_checks(fac, made, visit, unit, made.lot["status"], placebo_media, at, use_by),
        Check(4, "current weight", age.fresh, detail),
        dose_check,
        Check(
            6,
            "arm matches allocation",
            unit["kind"] == arm,
            f"period {visit['period']} is {arm_name(arm)}; the bag is {arm_name(unit['kind'])}",
        ),
    ]
    checks.sort(key=lambda c: c.number)
    require(all(c.passed for c in checks), f"a dispensing check would fail: {checks}")
    b.step(pharmacist.actor)
    row = b.add(
        "dispensing",
        {
            "visit_id": visit["id"],
            "unit_id": unit["id"],
            "weight_id": scale["id"],
            "weight_kg": scale["weight_kg"],
            "dose_cells_per_kg": dose,
            "status": "prepared",
            "prepared_by": pharmacist.id,
            "prepared_at": at,
            "use_by": use_by,
        },
    )
    _store_checks(b, row, checks, "prepare", pharmacist, at)
    b.step(pharmacist.actor)
    signature = b.sign(_signature(fac, "pharmacist", "dose-verified", at, row), _content(row))
    b.step(pharmacist.actor)
    reason = f"dispensed for visit {visit['id']} (signature #{signature['id']})"
    b.update("visit", visit, reason, status="dispensed")
    b.update("product_unit", unit, reason, status="dispensed")
    b.update("dispensing", row, reason, prepared_signature_id=signature["id"])
    return Dispensed(row, visit, unit, made.lot["status"])


def second_verify(
    b: Batch,
    fac: Facility,
    made: Made,
    done: Dispensed,
    at: dt.datetime,
    placebo_media: Row | None = None,
) -> None:
    """``dispensing.second_verify`` by the other pharmacist: checks 1–3 again, signed."""
    verifier = fac.who("pharmacist2")
    row = done.row
    require(
        row["status"] == "prepared" and row["prepared_by"] != verifier.id,
        "the second verifier must be another pharmacist",
    )
    checks = _checks(
        fac, made, done.visit, done.unit, done.lot_status, placebo_media, at, row["use_by"]
    )
    require(all(c.passed for c in checks), "a verification check would fail")
    _store_checks(b, row, checks, "verify", verifier, at)
    b.step(verifier.actor)
    signature = b.sign(_signature(fac, "pharmacist2", "second-verified", at, row), _content(row))
    b.step(verifier.actor)
    b.update(
        "dispensing",
        row,
        f"second verification (signature #{signature['id']})",
        verified_by=verifier.id,
        verified_at=at,
        verified_signature_id=signature["id"],
        status="verified",
    )


def infuse(
    b: Batch,
    fac: Facility,
    done: Dispensed,
    at: dt.datetime,
    *,
    reactions: str = "",
    grade: int | None = None,
) -> Row:
    """``ward.bedside_check``, ``start_infusion`` and ``end_infusion`` (signed)."""
    nurse = fac.who("clinician")
    require(done.row["status"] == "verified", "the bag has not been second-verified")
    require(at <= done.row["use_by"], "the bag has passed its use-by time")
    b.step(nurse.actor)
    infusion = b.add(
        "infusion",
        {
            "dispensing_id": done.row["id"],
            "identity_checked_at": at,
            "identity_checked_by": nurse.id,
        },
    )
    started, ended = at + 10 * MINUTE, at + 55 * MINUTE
    b.step(nurse.actor)
    b.update("infusion", infusion, "infusion started", started_at=started, administered_by=nurse.id)
    content = {
        "infusion": infusion["id"],
        "started_at": str(started),
        "ended_at": str(ended),
        "reactions": reactions,
        "grade": grade,
    }  # as ward.end_infusion signs it
    b.step(nurse.actor)
    signature = b.sign(
        {
            "signer_id": nurse.id,
            "printed_name": nurse.full_name,
            "meaning": "administered",
            "signed_at": ended + 30 * SECOND,
            "record_type": "infusion",
            "record_id": infusion["id"],
        },
        lambda _session: content,
    )
    b.step(nurse.actor)
    reason = f"infusion completed (signature #{signature['id']})"
    b.update("visit", done.visit, reason, status="infused")
    b.update("product_unit", done.unit, reason, status="infused")
    b.update("dispensing", done.row, reason, status="infused")
    b.update(
        "infusion",
        infusion,
        reason,
        ended_at=ended,
        reactions=reactions,
        reaction_grade=grade,
        signature_id=signature["id"],
    )
    return infusion


def _store_checks(
    b: Batch, row: Row, checks: list[Check], stage: str, by: Person, at: dt.datetime
) -> None:
    b.step(by.actor)
    for c in checks:
        b.add(
            "dispensing_check",
            {
                "dispensing_id": row["id"],
                "stage": stage,
                "number": c.number,
                "name": c.name,
                "passed": c.passed,
                "detail": c.detail[:1000],
                "checked_at": at,
                "checked_by": by.id,
            },
        )


def _signature(fac: Facility, part: str, meaning: str, at: dt.datetime, row: Row) -> dict[str, Any]:
    person = fac.who(part)
    return {
        "signer_id": person.id,
        "printed_name": person.full_name,
        "meaning": meaning,
        "signed_at": at + 30 * SECOND,
        "record_type": "dispensing",
        "record_id": row["id"],
    }


def _content(row: Row) -> Any:
    """What the dispensing signatures cover, read back by the service's own function."""

    def content(session: Session) -> Mapping[str, Any]:
        return dispensing_content(session, Dispensing(**row))

    return content
