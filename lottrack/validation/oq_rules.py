"""Operational qualification: the dose window and the dispensing checks of §8, driven
through the installed command line and the real services on the scratch database."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

from sqlmodel import Session, func, select

from lottrack.kernel import calc
from lottrack.kernel.errors import LotTrackError
from lottrack.storage.models import AuditEvent, Dispensing, ProductUnit, utcnow
from lottrack.trial import dispensing, visits
from lottrack.validation.catalogue import Step, check, step
from lottrack.validation.scratch import Scratch

CLI_TIMEOUT = 120


def lottrack_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``lottrack`` (this interpreter, ``-m lottrack``)."""
    return subprocess.run(
        [sys.executable, "-m", "lottrack", *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


@check("OQ-DOSE-01", "dose-check at the window edges (70 kg)", "URS-DOSE-01", scratch=False)
def dose_edges(_scratch: None) -> list[Step]:
    """1.0 and 2.0 × 10⁶/kg are inside (exit 0); 0.01 % beyond either is outside (1)."""
    steps = []
    for cells, code, where in (
        ("7.0e7", 0, "the lower edge"),
        ("1.4e8", 0, "the upper edge"),
        ("6.9993e7", 1, "just below"),
        ("1.40014e8", 1, "just above"),
    ):
        done = lottrack_cli("dose-check", "--weight", "70 kg", "--viable-cells", cells)
        steps.append(
            step(
                f"{cells} viable cells, 70 kg ({where}): exit {code}",
                f"exit {done.returncode}: {done.stdout.strip()[:160]}",
                done.returncode == code,
            )
        )
    return steps


@check(
    "OQ-DOSE-02",
    "the dispensing's dose rule at the edges",
    "URS-DOSE-01",
    "URS-DISP-01",
    scratch=False,
)
def dose_rule(_scratch: None) -> list[Step]:
    """Check 5's function: inside at both edges, outside and not clamped beyond them."""
    steps = []
    for cells, inside in ((7.0e7, True), (1.4e8, True), (6.9999e7, False), (1.40001e8, False)):
        result = calc.check_dose(weight_kg=70.0, viable_cells=cells)
        steps.append(
            step(
                f"{cells:.6g} cells / 70 kg: {'inside' if inside else 'outside'}, "
                f"dose {cells / 70:.6g}/kg",
                f"{result.position}, dose {result.dose_cells_per_kg:.6g}/kg",
                result.within == inside and abs(result.dose_cells_per_kg - cells / 70) < 1e-6,
            )
        )
    return steps


def _refused(
    scratch: Scratch, visit_id: int, unit_id: int, check_number: int, words: str
) -> list[Step]:
    """Try to dispense ``unit_id`` for ``visit_id``: refused naming ``check_number``, no
    dispensing stored, the refusal audited."""
    db = scratch.db
    with db.reader() as s:
        before = (
            _count(s, Dispensing),
            _count(s, AuditEvent, AuditEvent.action == "dispense-refused"),
        )
    message = "accepted"
    try:
        with db.session() as s:
            dispensing.prepare(
                s,
                scratch.who("pharmacist"),
                scratch.cast.creds("pharmacist"),
                visit_id=visit_id,
                unit_id=unit_id,
            )
    except LotTrackError as exc:
        message = exc.message
    with db.reader() as s:
        after = (
            _count(s, Dispensing),
            _count(s, AuditEvent, AuditEvent.action == "dispense-refused"),
        )
    return [
        step(
            f"refused naming check {check_number} ({words})",
            message,
            f"check {check_number}" in message and words in message,
        ),
        step("no dispensing stored", f"{after[0] - before[0]} stored", after[0] == before[0]),
        step(
            "the refusal is in the audit trail",
            f"{after[1] - before[1]} event(s)",
            after[1] == before[1] + 1,
        ),
    ]


def _count(session: Session, model: type, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


@check("OQ-DISP-01", "check 1: a bag of another subject", "URS-DISP-01")
def identity(scratch: Scratch) -> list[Step]:
    """Subject A's visit with subject C's bag."""
    a, c = scratch.subjects["A"], scratch.subjects["C"]
    return _refused(scratch, a.visits[0], c.bag_id, 1, "chain of identity")


@check("OQ-DISP-02", "check 2: a bag whose lot is not released", "URS-DISP-01")
def release(scratch: Scratch) -> list[Step]:
    """Subject B's own bag; its lot awaits release."""
    b = scratch.subjects["B"]
    return _refused(scratch, b.visits[0], b.bag_id, 2, "released")


@check(
    "OQ-DISP-03", "check 3: expiry and the thaw limit at their edges", "URS-DISP-01", scratch=False
)
def expiry(_scratch: None) -> list[Step]:
    """The expiry rule the dispensing applies (``expiry_outcome``), at its edges; the
    use-by is 30 minutes ahead, the thaw limit 60 minutes."""
    now = utcnow()
    minute = dt.timedelta(minutes=1)
    cases = (
        ("bag expiring at the use-by", now + 30 * minute, None, True),
        ("bag expired a second ago", now - dt.timedelta(seconds=1), None, False),
        (
            "thawed 30 min ago (usable to the use-by)",
            now + 9 * 1440 * minute,
            now - 30 * minute,
            True,
        ),
        ("thawed 61 min ago (limit 60)", now + 9 * 1440 * minute, now - 61 * minute, False),
    )
    steps = []
    for name, expires_at, thawed_at, ok in cases:
        outcome = dispensing.expiry_outcome(
            expires_at=expires_at,
            cryopreserved=thawed_at is not None,
            thawed_at=thawed_at,
            thaw_max_minutes=60,
            now=now,
            use_by=now + 30 * minute,
        )
        steps.append(
            step(
                f"{name}: check 3 {'passes' if ok else 'fails'}",
                f"{'passes' if outcome.passed else 'fails'}: {outcome.detail}",
                outcome.passed == ok,
            )
        )
    not_thawed = dispensing.expiry_outcome(
        expires_at=now + 9 * 1440 * minute,
        cryopreserved=True,
        thawed_at=None,
        thaw_max_minutes=60,
        now=now,
        use_by=now + 30 * minute,
    )
    steps.append(
        step(
            "cryopreserved, not thawed: check 3 fails",
            f"{'passes' if not_thawed.passed else 'fails'}: {not_thawed.detail}",
            not not_thawed.passed,
        )
    )
    return steps


@check("OQ-DISP-04", "check 4: the weight's age at the 7-day edge", "URS-DISP-01", scratch=False)
def weight(_scratch: None) -> list[Step]:
    """A weight exactly 7 days old is current; a minute older is not."""
    now = utcnow()
    steps = []
    for age, fresh in ((dt.timedelta(days=7), True), (dt.timedelta(days=7, minutes=1), False)):
        result = calc.weight_age(now - age, now, max_age_days=7)
        steps.append(
            step(
                f"weight {age} old: {'current' if fresh else 'too old'}",
                "current" if result.fresh else "too old",
                result.fresh == fresh,
            )
        )
    return steps


@check(
    "OQ-DISP-05",
    "check 5: a dose outside the window for the current weight",
    "URS-DISP-01",
    "URS-DOSE-01",
)
def dose_refused(scratch: Scratch) -> list[Step]:
    """Subject A weighed so that its own bag gives 2.2 × 10⁶ cells/kg: refused naming
    check 5; a later weight of 70 kg puts it back inside for the checks that follow."""
    a = scratch.subjects["A"]
    with scratch.db.reader() as s:
        unit = s.get(ProductUnit, a.bag_id)
        assert unit is not None and unit.viable_cells is not None
        cells = unit.viable_cells
    heavy = cells / 2.2e6 if cells / 2.2e6 >= 30 else cells / 0.9e6  # in 30–200 kg
    now = utcnow()

    def weigh(kg: float, ago: dt.timedelta) -> None:
        with scratch.db.session() as s:
            visits.record_weight(
                s,
                scratch.who("clinician"),
                subject_id=a.id,
                weight_text=f"{kg:.3f} kg",
                measured_at=now - ago,
            )

    weigh(heavy, dt.timedelta(minutes=2))
    steps = _refused(scratch, a.visits[0], a.bag_id, 5, "dose within window")
    weigh(70.0, dt.timedelta(minutes=1))
    return steps


@check("OQ-DISP-06", "check 6: an MSC bag at a placebo visit", "URS-DISP-01")
def arm(scratch: Scratch) -> list[Step]:
    """Subject C (placebo-first), period 1, with its own released MSC bag."""
    c = scratch.subjects["C"]
    return _refused(scratch, c.visits[0], c.bag_id, 6, "arm matches allocation")
