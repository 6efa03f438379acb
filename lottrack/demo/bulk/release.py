"""Bulk QC results and the QA decision on a lot, written as ``qc.record_result`` and
``disposition.release`` / ``release_exceptional`` / ``reject`` / ``quarantine`` write them:
the same rows, flushes and reasons, the same checks on the values (the steps before them
are :mod:`lottrack.demo.bulk.manufacturing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from lottrack.demo.bulk import quality
from lottrack.demo.bulk.batch import Batch
from lottrack.demo.bulk.facility import Facility, require
from lottrack.demo.bulk.manufacturing import MINUTE, SECOND, Made, Row
from lottrack.kernel import calc
from lottrack.manufacturing import lots
from lottrack.manufacturing.qc import QC_OPEN
from lottrack.release.batch_record import lot_content
from lottrack.storage.models import Lot


def qc(
    b: Batch,
    fac: Facility,
    made: Made,
    at: dt.datetime,
    results: Mapping[str, str],
    weight_kg: float,
    *,
    retest_of: Row | None = None,
    reason: str = "",
) -> None:
    """``qc.record_result`` for each result (or a retest of ``retest_of``, with its
    ``reason``, in the investigation that result opened); conformity computed by the
    specification, endotoxin against K × weight ÷ bag volume; a first result out of
    specification opens an investigation."""
    require(made.lot["status"] in QC_OPEN, "QC results need a lot in process or awaiting")
    assert made.bag is not None
    limit = calc.endotoxin_limit(weight_kg, made.bag["volume_ml"]).limit_eu_per_ml
    out = []
    for i, (code, text) in enumerate(results.items()):
        item = fac.spec_items[code]
        require(
            retest_of is None or retest_of["spec_item_id"] == item.id,
            "a retest repeats a result of the same test",
        )
        judged = fac.judged(code, text, limit if item.kind == "endotoxin" else None)
        b.step(made.tech.actor)
        out.append(
            b.add(
                "qc_result",
                {
                    "lot_id": made.lot["id"],
                    "spec_item_id": item.id,
                    "value_text": text.strip(),
                    "value_num": judged.value_num,
                    "value_cat": judged.value_cat,
                    "unit": judged.unit,
                    "limit_text": judged.limit_text,
                    "method": "per SOP",
                    "tested_at": at,
                    "tester_id": made.tech.id,
                    "conforms": judged.conforms,
                    "retest_of_id": retest_of["id"] if retest_of else None,
                    "created_at": at + (10 + 2 * i) * MINUTE,
                },
            )
        )
        if retest_of is not None:
            quality.add_retest(b, retest_of, out[-1], reason)
        elif judged.conforms is False:
            quality.open_investigation(b, made.tech, out[-1], item)
    made.qc = (*made.qc, *out)


@dataclass(frozen=True)
class Exceptional:
    """The Part IV §11.5 records of an exceptional release."""

    physician_request: str
    risk_evaluation: str
    physician_acceptance: str


def decide(
    b: Batch,
    fac: Facility,
    made: Made,
    decision: str,
    at: dt.datetime,
    justification: str,
    exceptional: Exceptional | None = None,
) -> Row:
    """``disposition.release`` / ``release_exceptional`` / ``reject`` / ``quarantine``:
    signature over the batch record, the decision, the lot's new status."""
    qa, lot = fac.who("qa"), made.lot
    require(lot["status"] == lots.AWAITING_RELEASE, f"lot {lot['lot_number']} is not awaiting")
    recorders = {lot["created_by"], made.tech.id}
    require(qa.id not in recorders, "the releaser recorded steps of the lot")
    if decision in lots.RELEASED_STATES:
        required = [i for i in fac.spec_items.values() if i.required]
        given = {r["spec_item_id"]: r for r in made.qc}  # the latest result of each test
        require(all(i.id in given for i in required), "a required QC result is missing")
        failing = [i for i in required if given[i.id]["conforms"] is False]
        require(
            bool(failing) == (decision == lots.RELEASED_EXCEPTIONAL),
            "normal release needs conforming results; exceptional release needs a "
            "result out of specification",
        )
    meaning = {lots.REJECTED: "rejected", lots.QUARANTINED: "reviewed"}.get(decision, "released")
    lot_id = lot["id"]

    def content(session: Session) -> Mapping[str, Any]:
        row = session.get(Lot, lot_id)
        assert row is not None
        return lot_content(session, row)

    b.step(qa.actor)
    signature = b.sign(
        {
            "signer_id": qa.id,
            "printed_name": qa.full_name,
            "meaning": meaning,
            "signed_at": at,
            "record_type": "lot",
            "record_id": lot_id,
        },
        content,
    )
    b.step(qa.actor)
    row = b.add(
        "disposition",
        {
            "lot_id": lot_id,
            "decision": decision,
            "justification": justification,
            "decided_at": at + 2 * SECOND,
            "decided_by": qa.id,
            "signature_id": signature["id"],
            "previous_status": lot["status"],
            "physician_request": exceptional.physician_request if exceptional else None,
            "risk_evaluation": exceptional.risk_evaluation if exceptional else None,
            "physician_acceptance": exceptional.physician_acceptance if exceptional else None,
            "sponsor_notified_at": at - 20 * MINUTE if exceptional else None,
        },
    )
    changes: dict[str, Any] = {"status": decision}
    if decision == lots.QUARANTINED:
        changes["status_before_hold"] = lot["status"]
    b.step(qa.actor)
    b.update(
        "lot",
        lot,
        f"QA {decision} (signature #{signature['id']}): {justification or decision}",
        **changes,
    )
    return row
