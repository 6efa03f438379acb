"""``lottrack weight record|correct|void`` (design §6.8): a weight outside 30–200 kg is
stored only with --confirm; corrections and voids need a reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlmodel import col, select
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.demo.scenario import CONFORMING_QC
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import WeightMeasurement
from tests.conftest import PASSWORD, verify_ok
from tests.factories import make_scenario

runner = CliRunner()


def lottrack(db: Database, *args: str) -> Any:
    return runner.invoke(
        app, ["--db", db.url, *args, "--as", "clinician", "--password-stdin"], input=PASSWORD + "\n"
    )


def stored(db: Database) -> list[tuple[float, str | None]]:
    with db.reader() as s:
        return [
            (w.weight_kg, w.voided_reason)
            for w in s.exec(select(WeightMeasurement).order_by(col(WeightMeasurement.id))).all()
        ]


def test_an_implausible_weight_needs_confirm_and_is_corrected_or_voided(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> None:
    make_scenario(db, admin, make_user).subject("TLS-801", dt.date(1970, 1, 1))
    refused = lottrack(db, "weight", "record", "TLS-801", "250 kg")
    assert refused.exit_code == 2
    assert "Weight 250 kg is outside the usual 30–200 kg" in refused.stderr
    assert stored(db) == []
    done = lottrack(db, "weight", "record", "TLS-801", "250 kg", "--confirm")
    assert done.exit_code == 0, done.output
    assert "250 kg recorded" in done.stdout
    (weight_id,) = [int(w) for w in done.stdout.split("#")[1].split()[:1]]
    no_reason = lottrack(db, "weight", "correct", str(weight_id), "75 kg", "--reason", " ")
    assert no_reason.exit_code == 2
    fixed = lottrack(
        db, "weight", "correct", str(weight_id), "75 kg", "--reason", "typed 250 for 75"
    )
    assert fixed.exit_code == 0, fixed.output
    assert stored(db) == [(75.0, None)]
    voided = lottrack(db, "weight", "void", str(weight_id), "--reason", "wrong patient")
    assert voided.exit_code == 0, voided.output
    assert stored(db) == [(75.0, "wrong patient")]
    verify_ok(db)


def test_a_correction_prints_the_endotoxin_result_judged_again_and_list_shows_ids(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> None:
    sc = make_scenario(db, admin, make_user)
    subject = sc.subject("TLS-802", dt.date(1970, 1, 1))
    sc.made_lot(subject, qc_results={**CONFORMING_QC, "endotoxin": "5 EU/mL"})
    listed = lottrack(db, "weight", "list", "TLS-802")
    assert listed.exit_code == 0, listed.output
    (line,) = listed.stdout.splitlines()
    assert line.startswith("#")
    assert line.endswith("70 kg")
    weight_id = line[1:].split()[0]
    fixed = lottrack(db, "weight", "correct", weight_id, "40 kg", "--reason", "typo")
    assert fixed.exit_code == 0, fixed.output
    assert "judged again against ≤ 4 EU/mL: it is out of specification" in fixed.stdout
    assert "OOS investigation #" in fixed.stdout
    verify_ok(db)
