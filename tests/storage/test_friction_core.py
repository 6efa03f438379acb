"""The core rules behind issue 19's screens: records named for people, the audit log
searched and blinded, refusals known before the password, the reason a decision is not
open, an echo as typed (both backends)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlmodel import func, select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import InvalidTransition, PermissionDenied, ValidationError
from lottrack.kernel.units import Dim, format_as_typed, parse_quantity
from lottrack.manufacturing import qc
from lottrack.records import signatures
from lottrack.records.permissions import CurrentUser
from lottrack.release import disposition
from lottrack.storage import audit
from lottrack.storage.models import AuditEvent, Lot, Passage, User, utcnow
from lottrack.trial import allocation
from lottrack.views import listings
from lottrack.views.listings.audit_log import BLINDED, AuditQuery, audit_log
from lottrack.views.listings.record_names import record_names


def test_records_are_named_as_people_name_them(sc: Scenario) -> None:
    lot_id, bag = sc.made_lot(sc.subject("TLS-001", dt.date(1970, 1, 1)))
    with sc.db.reader() as s:
        passage_id = s.exec(
            select(Passage.id).where(Passage.lot_id == lot_id, Passage.number == 2)
        ).one()
        qa = sc.cast.who("qa")
        trail = listings.named(s, qa, listings.lot_audit_trail(s, qa, lot_id))
        names = record_names(
            s,
            [
                ("passage", str(passage_id)),
                ("product_unit", str(bag)),
                ("setting", "7"),
                ("passage", "999999"),
            ],
            blinded=False,
        )
        blinded = record_names(s, [("product_unit", str(bag))])
    lot_number = next(r.record for r in trail if r.entity == "lot").removeprefix("Lot ")
    assert names[("passage", str(passage_id))] == f"Passage P2 of {lot_number}"
    assert names[("product_unit", str(bag))].startswith("Bag K-")
    assert blinded[("product_unit", str(bag))] == "Bag (blinded)"  # no kit code for QA
    assert not any("K-" in r.record for r in trail)
    assert names[("setting", "7")] == "Setting #7"
    assert names[("passage", "999999")] == "Passage #999999"  # gone: title and id
    records = {r.record for r in trail}
    assert f"Passage P0 of {lot_number}" in records
    assert any(r.startswith("QC CD73 of ") for r in records)
    assert not any("_" in r.split(" of ")[0] for r in records)  # never a table name


def test_the_audit_log_filters_and_blinds_arm_records(sc: Scenario) -> None:
    subject = sc.subject("TLS-002", dt.date(1971, 1, 1))
    lot_id, _ = sc.made_lot(subject)
    sc.release(lot_id)
    visits = sc.enrol(subject, allocation.MSC_FIRST, utcnow().date())
    assert visits
    qa = sc.cast.who("qa")
    with sc.db.reader() as s:
        everything = audit_log(s, qa, AuditQuery(), limit=10_000).rows
        allocations = audit_log(s, qa, AuditQuery(record="Allocation")).rows
        passages = audit_log(s, qa, AuditQuery(record="passage p1", action="insert")).rows
        by_person = audit_log(s, qa, AuditQuery(person=qa.username)).rows
        nothing = audit_log(s, qa, AuditQuery(until=utcnow() - dt.timedelta(days=400))).rows
        total = s.exec(select(func.count()).select_from(AuditEvent)).one()
    assert len(everything) == total
    assert [r.seq for r in everything] == sorted((r.seq for r in everything), reverse=True)
    assert allocations
    assert all(v == [BLINDED, BLINDED] for r in allocations for v in r.changes.values())
    assert "MSC-first" not in str([(r.changes, r.reason) for r in everything])
    assert len(passages) == 1
    assert passages[0].record.startswith("Passage P1 of ")
    assert by_person
    assert {r.username for r in by_person} == {qa.username}
    assert nothing == ()


def test_a_subject_code_finds_its_lots_records_and_ids_read_as_names(sc: Scenario) -> None:
    mine = sc.subject("TLS-003", dt.date(1972, 1, 1))
    other = sc.subject("TLS-004", dt.date(1973, 1, 1))
    my_lot, _ = sc.made_lot(mine)
    other_lot, _ = sc.made_lot(other)
    qa = sc.cast.who("qa")
    technician = sc.cast.who("technician").username
    with sc.db.reader() as s:
        found = audit_log(s, qa, AuditQuery(record="tls-003"), limit=10_000).rows
        trail = listings.named(s, qa, listings.lot_audit_trail(s, qa, my_lot))
        lot_numbers = {
            i: s.exec(select(Lot.lot_number).where(Lot.id == i)).one() for i in (my_lot, other_lot)
        }
    records = {r.record for r in found}
    assert "Subject TLS-003" in records
    assert f"Passage P1 of {lot_numbers[my_lot]}" in records  # the lot's records too
    assert not any(lot_numbers[other_lot] in r or "TLS-004" in r for r in records)
    inserted = next(
        r
        for r in found
        if r.record == f"Passage P1 of {lot_numbers[my_lot]}" and r.action == "insert"
    )
    assert inserted.changes["recorded_by"] == [None, f"User {technician}"]
    assert inserted.changes["lot"] == [None, f"Lot {lot_numbers[my_lot]}"]
    assert "lot_id" not in inserted.changes
    lot_event = next(r for r in trail if r.entity == "lot" and r.action == "insert")
    assert lot_event.changes["subject"] == [None, "Subject TLS-003"]
    cd73 = next(r for r in trail if r.record.startswith("QC CD73 of "))
    assert cd73.changes["spec_item"] == [None, "CD73 (specification version 1)"]
    count = next(r for r in trail if r.entity == "cell_count")
    assert count.changes["counted_by"] == [None, f"User {technician}"]
    assert "K-" not in str([r.changes for r in trail])  # no kit code for a blinded reader


def test_a_refusal_before_the_signature_is_known_without_a_password(sc: Scenario) -> None:
    """The technician who made a lot, given the QA role, may not release it: the precheck
    says so and nothing is counted against the password."""
    lot_id, _ = sc.made_lot(sc.subject("TLS-003", dt.date(1972, 1, 1)))
    tech = sc.cast.who("technician")
    with sc.db.session() as s:
        from lottrack.records import accounts

        accounts.set_roles(
            s, sc.cast.who("admin"), tech.username, ["technician", "qa"], "covering QA"
        )
        tech = CurrentUser.of(s.exec(select(User).where(User.username == tech.username)).one())
    qa = sc.cast.who("qa")

    def attempt(who: CurrentUser) -> Callable[[signatures.Credentials], object]:
        def run(creds: signatures.Credentials) -> object:
            with sc.db.session() as s:
                return disposition.release(s, who, lot_id, creds)

        return run

    refusal = signatures.refusal_before_signature(attempt(tech))
    assert isinstance(refusal, PermissionDenied)
    assert "separation of duties" in refusal.message
    assert signatures.refusal_before_signature(attempt(qa)) is None  # only the signature left
    with sc.db.reader() as s:
        user = s.exec(select(User).where(User.username == tech.username)).one()
        lot_status = disposition.history(s, qa, lot_id)
    assert user.failed_logins == 0
    assert lot_status == []  # nothing decided, nothing signed
    assert audit.verify(sc.db.engine.connect()).ok


def test_why_a_decision_is_not_open() -> None:
    out = qc.ReleaseReadiness(missing=(), out_of_spec=("CD73 93 % (limit ≥ 95 %)",))
    missing = qc.ReleaseReadiness(missing=("Sterility",), out_of_spec=())
    ready = qc.ReleaseReadiness(missing=(), out_of_spec=())
    assert disposition.why_not_open("release", "awaiting-release", ready) is None
    assert disposition.why_not_open("release", "awaiting-release", out) == (
        "Cannot release: out of specification (CD73 93 % (limit ≥ 95 %)). Press e for an "
        "exceptional release at the treating physician's request (EU GMP Part IV §11.5), "
        "or x to reject."
    )
    assert "results missing (Sterility)" in (
        disposition.why_not_open("release", "awaiting-release", missing) or ""
    )
    held = qc.ReleaseReadiness(
        missing=(), out_of_spec=("CD73 93 %",), open_investigations=("investigation #1",)
    )
    assert disposition.why_not_open("release", "awaiting-release", held) == (
        "Cannot release yet: open (investigation #1). Close it first (n on this screen), "
        "then decide."
    )
    assert disposition.why_not_open("lift", "released", ready) == (
        "Cannot lift a quarantine of a lot that is released."
    )


@pytest.mark.parametrize(
    ("typed", "dim", "echo"),
    [
        ("1272 cm2", Dim.AREA, "1272 cm²"),
        ("175 cm²", Dim.AREA, "175 cm²"),
        ("154 lb", Dim.MASS, "69.9 kg"),
        ("1.2e6/mL", Dim.CONCENTRATION, "1.20 × 10⁶ cells/mL"),
        ("1234567 cells", Dim.CELLS, "1.234567 × 10⁶ cells"),
    ],
)
def test_a_value_is_echoed_with_the_digits_typed(typed: str, dim: Dim, echo: str) -> None:
    assert format_as_typed(parse_quantity(typed, "x", dim)) == echo


def test_an_infusion_end_is_checked_before_the_signature(sc: Scenario) -> None:
    """What end_infusion would refuse is refused by the check alone, with no password."""
    from lottrack.trial import ward

    subject = sc.subject("TLS-004", dt.date(1973, 1, 1))
    lot_id, bag = sc.made_lot(subject)
    sc.release(lot_id)
    visit, _ = sc.enrol(subject, allocation.MSC_FIRST, utcnow().date())
    sc.weight(subject, "70 kg", utcnow())
    sc.dispense(visit, msc_bag=bag)
    nurse = sc.cast.who("clinician")
    infusion_id = sc.bedside_check(visit)
    with sc.db.reader() as s, pytest.raises(InvalidTransition, match="start of the infusion"):
        ward.check_infusion_end(s, nurse, infusion_id, ended_at=utcnow())
    with sc.db.session() as s:
        ward.start_infusion(s, nurse, infusion_id, utcnow())
    with sc.db.reader() as s:
        with pytest.raises(ValidationError, match="give a grade 1–5"):
            ward.check_infusion_end(s, nurse, infusion_id, ended_at=utcnow(), reactions="chills")
        _, _, reactions = ward.check_infusion_end(
            s, nurse, infusion_id, ended_at=utcnow(), reactions=" chills ", reaction_grade=1
        )
    assert reactions == "chills"


def test_a_subject_code_finds_the_dispensing_and_infusion_named_alike_for_both_arms(
    sc: Scenario,
) -> None:
    """An inspector searching "TLS-005" sees the whole chain to the bedside: the dispensing,
    its checks and the infusion are named by their visit ("Infusion, period 1 of
    TLS-005"; they read "Infusion #4" and were not found), in the same words whichever
    arm the period is."""
    names: dict[str, set[str]] = {}
    for code, sequence in (
        ("TLS-005", allocation.MSC_FIRST),
        ("TLS-006", allocation.PLACEBO_FIRST),
    ):
        subject = sc.subject(code, dt.date(1975, 1, 1))
        lot_id, bag = sc.made_lot(subject)
        sc.release(lot_id)
        visit, _ = sc.enrol(subject, sequence, utcnow().date())
        sc.weight(subject, "70 kg", utcnow())
        sc.dispense(visit, msc_bag=bag if sequence == allocation.MSC_FIRST else None)
        sc.infuse(visit)
        with sc.db.reader() as s:
            found = audit_log(s, sc.cast.who("qa"), AuditQuery(record=code), limit=10_000).rows
        names[code] = {
            r.record.replace(code, "TLS-…")
            for r in found
            if r.record.startswith(("Dispensing", "Check", "Infusion"))
        }
    assert {
        "Dispensing for period 1 of TLS-…",
        "Check 1 (prepare) of the dispensing for period 1 of TLS-…",
        "Check 3 (verify) of the dispensing for period 1 of TLS-…",
        "Infusion, period 1 of TLS-…",
    } <= names["TLS-005"]
    assert names["TLS-005"] == names["TLS-006"]


@pytest.mark.parametrize("typed", ["L-\x00A", "tech\x1b[31m", "up\u200bdate", "x" * 101])
@pytest.mark.parametrize("box", ["record", "person", "action"])
def test_an_audit_filter_with_hidden_characters_or_too_long_is_refused_as_such(
    sc: Scenario, box: str, typed: str
) -> None:
    """Each filter box names what is wrong, on SQLite and PostgreSQL alike (a NUL made
    PostgreSQL raise 'could not be written … nothing was saved' for a read)."""
    field = box.capitalize()
    with pytest.raises(ValidationError) as refused, sc.db.reader() as s:
        query = {
            "record": AuditQuery(record=typed),
            "person": AuditQuery(person=typed),
            "action": AuditQuery(action=typed),
        }[box]
        audit_log(s, sc.cast.who("qa"), query)
    assert refused.value.field == field
    assert refused.value.message.startswith(f"{field}: ")
    assert ("control or invisible" in refused.value.message) == (len(typed) <= 100)
