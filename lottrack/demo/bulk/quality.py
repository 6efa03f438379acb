"""Quality records of the bulk journeys, written as the services write them (design
§6.6–§6.7): an out-of-specification result opens an investigation (``investigations.
open_for``), a retest is linked to it with its reason (``add_retest``), QA closes it with a
signature (``investigations.close``); a deviation is opened by the lab
(``deviations.open_deviation``) and closed by QA with a signature (``close_deviation``).

Nothing here depends on a subject's sequence: the journeys that carry a deviation are
chosen so that both sequences carry one alike (design §7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from lottrack.demo.bulk.batch import Batch
from lottrack.demo.bulk.facility import Facility, Person, require
from lottrack.manufacturing import deviations, investigations
from lottrack.storage.models import Deviation, Investigation, SpecItem

Row = dict[str, Any]
SECOND = dt.timedelta(seconds=1)


def open_investigation(b: Batch, by: Person, result: Row, item: SpecItem) -> Row:
    """``investigations.open_for``: the OOS ``result`` (recorded by ``by``) opens an
    investigation at once."""
    unit = result["unit"]
    shown = f" {unit}" if unit and unit not in result["value_text"] else ""
    b.step(by.actor)
    return b.add(
        "investigation",
        {
            "lot_id": result["lot_id"],
            "result_id": result["id"],
            "spec_item_id": item.id,
            "result_text": (
                f"{item.test_name} {result['value_text']}{shown} (limit {result['limit_text']})"
            )[:400],
            "opened_at": result["created_at"],
            "opened_by": result["tester_id"],
        },
    )


def add_retest(b: Batch, retest_of: Row, result: Row, reason: str) -> None:
    """``investigations.add_retest``: ``result`` is a retest in the investigation that
    ``retest_of`` opened."""
    inv = next((i for i in b.rows["investigation"] if i["result_id"] == retest_of["id"]), None)
    require(
        inv is not None and inv["conclusion"] is None,
        "a retest is recorded only against an open investigation",
    )
    assert inv is not None
    b.add(
        "investigation_retest",
        {
            "investigation_id": inv["id"],
            "result_id": result["id"],
            "reason": reason,
            "recorded_at": result["created_at"],
            "recorded_by": result["tester_id"],
        },
    )


def close_investigation(
    b: Batch, fac: Facility, lot: Row, at: dt.datetime, *, conclusion: str
) -> None:
    """``investigations.close`` (no assignable laboratory error: the original stands) of
    every open investigation of ``lot``, signed by QA."""
    qa = fac.who("qa")
    for inv in b.rows["investigation"]:
        if inv["lot_id"] != lot["id"] or inv["conclusion"] is not None:
            continue
        require(qa.id != inv["opened_by"], "QA recorded a result of the investigation")
        inv_id = inv["id"]

        def content(session: Session, inv_id: int = inv_id) -> Mapping[str, Any]:
            row = session.get(Investigation, inv_id)
            assert row is not None
            return investigations.content(session, row)

        b.step(qa.actor)
        signature = b.sign(
            {
                "signer_id": qa.id,
                "printed_name": qa.full_name,
                "meaning": "concluded",
                "signed_at": at,
                "record_type": "investigation",
                "record_id": inv_id,
            },
            content,
        )
        verdict = investigations.NO_LAB_ERROR
        b.step(qa.actor)
        b.update(
            "investigation",
            inv,
            f"investigation closed: {investigations.CONCLUSIONS[verdict]}",
            conclusion=verdict,
            conclusion_text=conclusion,
            closed_at=at + SECOND,
            closed_by=qa.id,
            signature_id=signature["id"],
        )


def open_deviation(
    b: Batch,
    by: Person,
    lot: Row,
    at: dt.datetime,
    *,
    planned: bool,
    description: str,
    impact: str,
    corrective_action: str,
) -> Row:
    """``deviations.open_deviation`` on ``lot`` by ``by`` (the lab)."""
    b.step(by.actor)
    return b.add(
        "deviation",
        {
            "lot_id": lot["id"],
            "planned": planned,
            "description": description,
            "impact": impact,
            "corrective_action": corrective_action,
            "opened_at": at,
            "opened_by": by.id,
        },
    )


def close_deviation(b: Batch, fac: Facility, deviation: Row, at: dt.datetime, closure: str) -> None:
    """``deviations.close_deviation``: QA (not the opener) closes it with a signature."""
    qa = fac.who("qa")
    require(qa.id != deviation["opened_by"], "the opener of a deviation may not close it")
    dev_id = deviation["id"]

    def content(session: Session) -> Mapping[str, Any]:
        row = session.get(Deviation, dev_id)
        assert row is not None
        return deviations.closing_content(row)

    b.step(qa.actor)
    signature = b.sign(
        {
            "signer_id": qa.id,
            "printed_name": qa.full_name,
            "meaning": "concluded",
            "signed_at": at,
            "record_type": "deviation",
            "record_id": dev_id,
        },
        content,
    )
    b.step(qa.actor)
    b.update(
        "deviation",
        deviation,
        f"deviation closed by QA: {closure}"[:500],
        closure=closure,
        closed_at=at + SECOND,
        closed_by=qa.id,
        signature_id=signature["id"],
    )
