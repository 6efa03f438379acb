"""The batch record from harvest to formulation (design §2, §3, §5, §10), on both backends.

People are inserted directly with one precomputed password hash (nobody logs in here), so
that the whole file stays fast; every manufacturing step goes through its service.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, col, select

from lottrack.facility import sites, subjects
from lottrack.kernel.errors import InvalidTransition, PermissionDenied, ValidationError
from lottrack.manufacturing import (
    counts,
    expansion,
    formulation,
    harvests,
    lots,
    passage_table,
    reagents,
)
from lottrack.manufacturing.counts import AutomatedReplicate, HemocytometerReplicate
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import (
    AuditEvent,
    CellCount,
    CountReplicate,
    CustodyEvent,
    Harvest,
    Lot,
    Passage,
    PassageReagent,
    ProductUnit,
    User,
    utcnow,
)
from tests.conftest import verify_ok

_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$not-a-login-hash-in-these-tests"
NOW = utcnow().replace(second=0, microsecond=0)
T0 = NOW - dt.timedelta(days=30)


def hours(n: float) -> dt.datetime:
    """T0 + n hours (always in the past)."""
    return T0 + dt.timedelta(hours=n)


@dataclass
class World:
    """A site, one subject, a released reagent set and one person per role."""

    db: Database
    admin: CurrentUser
    tech: CurrentUser
    qa: CurrentUser
    clinician: CurrentUser
    site_id: int
    subject_id: int
    reagent_ids: list[int]

    def session(self) -> Any:
        return self.db.session()


def person(db: Database, username: str, roles: str) -> CurrentUser:
    with db.session() as s:
        audit.set_actor(s, None, "system:test")
        user = User(
            username=username,
            full_name=f"Person {username.title()}",
            roles=roles,
            password_hash=_HASH,
        )
        s.add(user)
        s.flush()
        return CurrentUser.of(user)


def new_reagent(
    w: World,
    name: str,
    lot_number: str,
    *,
    kind: str = "medium",
    expiry: dt.date | None = None,
    release: bool = True,
) -> int:
    with w.session() as s:
        info = reagents.register_reagent_lot(
            s,
            w.tech,
            name=name,
            kind=kind,
            supplier="Acme Bio",
            lot_number=lot_number,
            expiry=expiry or (NOW + dt.timedelta(days=365)).date(),
        )
    if release:
        with w.session() as s:
            reagents.release_reagent_lot(s, w.qa, info.id)
    return info.id


@pytest.fixture
def world(db: Database) -> World:
    """The test world on each backend."""
    return build_world(db)


def build_world(db: Database) -> World:
    """A site, a subject, three released reagent lots and one person per role."""
    admin = person(db, "root", "admin")
    tech = person(db, "tina", "technician")
    qa = person(db, "quinn", "qa")
    clinician = person(db, "clio", "clinician")
    with db.session() as s:
        site = sites.create_site(
            s,
            admin,
            name="Test Cell Therapy Facility",
            fin="A9999",
            timezone="Europe/Berlin",
            decimal_separator=".",
            address="1 Test Road",
            product_code_msc="S12341",
            product_code_placebo="S1235100",
        )
    with db.session() as s:
        subject = subjects.register_subject(
            s,
            clinician,
            code="tls-003",
            initials="jd",
            date_of_birth=dt.date(1971, 5, 4),
            site_id=site.id,
        )
    w = World(db, admin, tech, qa, clinician, site.id, subject.id, [])
    w.reagent_ids = [
        new_reagent(w, "MEM alpha", "M-001"),
        new_reagent(w, "Platelet lysate", "PL-77", kind="supplement"),
        new_reagent(w, "TrypLE", "T-9", kind="dissociation"),
    ]
    return w


def start(w: World) -> tuple[int, str]:
    """A harvest at T0 and its lot; returns (lot id, DIN)."""
    with w.session() as s:
        harvest = harvests.record_harvest(
            s,
            w.tech,
            subject_id=w.subject_id,
            collected_at=T0,
            volume_text="90 mL",
            anticoagulant="heparin",
            aspiration_site="posterior iliac crest",
            tnc_text="1.2e9 cells",
        )
    with w.session() as s:
        return expansion.start_lot(s, w.tech, harvest_id=harvest.id), harvest.din


# (seeded, area, harvested, hours seeded → harvested); the PD are 3, 3 and 3. P2 yields
# 1.52e8 viable cells, enough for a 50 mL bag at 2.55e6 viable/mL (1.275e8, design §6.8).
GROWTH = [
    ("5e6 cells", "175 cm²", "4.0 x 10^7 cells", 96),
    ("1.0×10⁷", "636 cm2", "8e7", 72),
    ("2e7 cells", "1272 cm^2", "1.6e8 cells", 60),
]


def seed(
    w: World,
    lot_id: int,
    number: int,
    at: dt.datetime,
    cells: str = "5e6 cells",
    area: str = "175 cm²",
    reagent_ids: list[int] | None = None,
) -> int:
    with w.session() as s:
        return expansion.record_passage(
            s,
            w.tech,
            lot_id=lot_id,
            number=number,
            seeded_at=at,
            cells_seeded_text=cells,
            area_text=area,
            vessels="T175 flask",
            reagent_lot_ids=w.reagent_ids if reagent_ids is None else reagent_ids,
        )


def harvest_passage(
    w: World, passage_id: int, at: dt.datetime, cells: str = "4e7", viability: str = "95 %"
) -> None:
    with w.session() as s:
        expansion.record_passage_harvest(
            s,
            w.tech,
            passage_id=passage_id,
            harvested_at=at,
            cells_harvested_text=cells,
            viability_text=viability,
        )


def grow(w: World, lot_id: int, passages: int = 3) -> list[int]:
    """P0 … P(passages-1), each harvested; returns the passage ids."""
    ids, at = [], hours(1)
    for number in range(passages):
        seeded, area, harvested, duration = GROWTH[min(number, len(GROWTH) - 1)]
        ids.append(seed(w, lot_id, number, at, seeded, area))
        at += dt.timedelta(hours=duration)
        harvest_passage(w, ids[-1], at, harvested)
        at += dt.timedelta(hours=1)
    return ids


def hemocytometer(*viable_per_square_and_dead: tuple[int, int]) -> list[HemocytometerReplicate]:
    """Replicates over 4 squares at dilution 10: concentration = live × 25 000 /mL."""
    return [HemocytometerReplicate(live, dead, 4, 10) for live, dead in viable_per_square_and_dead]


def count(
    w: World,
    lot_id: int,
    at: dt.datetime,
    replicates: list[Any],
    target: str = counts.FINAL_PRODUCT,
    **kw: Any,
) -> counts.CountResult:
    method = (
        counts.AUTOMATED
        if isinstance(replicates[0], AutomatedReplicate)
        else (counts.HEMOCYTOMETER)
    )
    with w.session() as s:
        return counts.record_count(
            s,
            w.tech,
            lot_id=lot_id,
            target=target,
            method=method,
            counted_at=at,
            replicates=replicates,
            **kw,
        )


def rows(db: Database, *models: type[SQLModel]) -> dict[str, int]:
    with db.reader() as s:
        return {m.__name__: s.exec(select(func.count()).select_from(m)).one() for m in models}


RECORD_TABLES = (
    Harvest,
    Lot,
    Passage,
    PassageReagent,
    CellCount,
    CountReplicate,
    ProductUnit,
    CustodyEvent,
)


@contextmanager
def nothing_stored(db: Database) -> Iterator[None]:
    """Assert that the block stores nothing in the batch-record tables."""
    before = rows(db, *RECORD_TABLES)
    yield
    assert rows(db, *RECORD_TABLES) == before


# ------------------------------------------------------------------- happy path


def test_harvest_to_awaiting_release_is_recorded_and_audited(world: World) -> None:
    w = world
    lot_id, din = start(w)
    passage_ids = grow(w, lot_id)
    on_p2 = count(
        w,
        lot_id,
        hours(233),
        [AutomatedReplicate("2.0e6/mL", "96 %"), AutomatedReplicate("2.1 x 10^6 cells/mL", "95%")],
        target=counts.PASSAGE_HARVEST,
        passage_id=passage_ids[2],
    )
    # total × viability: 1.92e6 and 1.995e6 viable/mL
    assert on_p2.mean_viable_per_ml == pytest.approx(1.9575e6)
    final = count(w, lot_id, hours(234), hemocytometer((100, 5), (104, 4)))
    # 100 and 104 live over 4 squares × 10 × 10⁴ = 2.5e6 and 2.6e6 /mL
    assert final.mean_viable_per_ml == pytest.approx(2.55e6)
    assert final.cv_pct == pytest.approx(2.7729677693590102)  # SD 70 710.7 / mean 2.55e6
    assert final.viability_pct == pytest.approx(95.77464788732394)  # 2.55e6 / 2.6625e6
    assert not final.recount_required

    with w.session() as s:
        made = formulation.formulate(
            s,
            w.tech,
            lot_id=lot_id,
            volume_text="50 mL",
            storage="2–8 °C",
            formulated_at=hours(235),
        )
    assert made.lot_status == lots.AWAITING_RELEASE
    (bag,) = made.units
    assert bag.din == din
    # a random division (blinding): a letter and 0, the same scheme as placebo bags
    assert bag.division[1] == "0"
    assert bag.division[0] in "ABCDEFGHJKLMNPQRSTUVWXYZ"
    assert bag.product_code == "S12341" + bag.division
    assert bag.subject_code == "TLS-003"
    assert bag.viable_cells == pytest.approx(2.55e6 * 50)  # viable concentration × volume
    assert bag.expires_at == hours(235 + 24)
    assert re.fullmatch(r"K-[2-9A-HJKMNP-Z]{8}", bag.kit_code)

    with w.session() as s:
        table = passage_table.passage_table(s, w.qa, lot_id)
        summary = passage_table.lot_summary(s, w.tech, lot_id)
        bags = formulation.bags_of_lot(s, w.qa, lot_id)
    assert [r.label for r in table] == ["P0", "P1", "P2"]
    # Hand-computed: PD = log2(harvested / seeded); doubling time = hours / PD.
    assert [r.population_doublings for r in table] == pytest.approx([3.0, 3.0, 3.0])
    assert [r.cumulative_population_doublings for r in table] == pytest.approx([3.0, 6.0, 9.0])
    assert [r.doubling_time_hours for r in table] == pytest.approx([32.0, 24.0, 20.0])
    # 5e6 / 175, 1e7 / 636 and 2e7 / 1272 cells/cm²
    assert [r.seeding_density_per_cm2 for r in table] == pytest.approx(
        [28571.428571, 15723.270440, 15723.270440]
    )
    assert table[2].reagent_lots == ("MEM alpha M-001", "Platelet lysate PL-77", "TrypLE T-9")
    assert (summary.din, summary.subject_code, summary.status) == (
        din,
        "TLS-003",
        lots.AWAITING_RELEASE,
    )
    assert (summary.passages, summary.counts, summary.units) == (3, 2, 1)
    assert re.fullmatch(r"COI-[2-9A-HJKMNP-Z]{10}", summary.coi_id)
    # QA is blinded: the bag by its division, its status masked (design §7)
    assert [(b.id, b.kit_code, b.status) for b in bags] == [
        (bag.id, f"bag {bag.division}", "blinded")
    ]

    for temperature in ("39 °F", "277 K", "4,5 °C", "-250 °C"):
        with w.session() as s, pytest.raises(ValidationError, match="Temperature: ") as err:
            formulation.record_custody(
                s,
                w.tech,
                unit_id=bag.id,
                from_location="Clean room",
                to_location="QC quarantine fridge",
                at=hours(236),
                temperature_text=temperature,
            )
        assert f'"{temperature}"' in err.value.message
    with w.session() as s:
        formulation.record_custody(
            s,
            w.tech,
            unit_id=bag.id,
            from_location="Clean room",
            to_location="QC quarantine fridge",
            at=hours(236),
            temperature_text="4.5 °C",
        )
    with w.session() as s, pytest.raises(InvalidTransition, match='last recorded at "QC'):
        formulation.record_custody(
            s,
            w.tech,
            unit_id=bag.id,
            from_location="Clean room",
            to_location="Pharmacy",
            at=hours(237),
        )

    with w.db.reader() as s:
        events = s.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
        custody = s.exec(select(CustodyEvent)).one()
    assert custody.temperature_c == 4.5
    audited = {e.entity for e in events}
    assert audited >= {
        "site",
        "subject",
        "reagent_lot",
        "issued_din",
        "harvest",
        "lot",
        "passage",
        "passage_reagent",
        "cell_count",
        "count_replicate",
        "product_unit",
        "custody_event",
    }
    passage_updates = [e for e in events if e.entity == "passage" and e.action == "update"]
    assert [e.reason for e in passage_updates] == [f"harvest of P{n} recorded" for n in range(3)]
    assert all(e.username == "tina" for e in passage_updates)
    lot_updates = [
        json.loads(e.changes) for e in events if e.entity == "lot" and e.action == "update"
    ]
    assert lot_updates[-1] == {"status": [lots.IN_PROCESS, lots.AWAITING_RELEASE]}
    verify_ok(w.db)


# --------------------------------------------------------------------- refusals


def test_people_without_the_role_are_refused(world: World) -> None:
    w = world
    lot_id, _ = start(w)
    with nothing_stored(w.db):
        with w.session() as s, pytest.raises(PermissionDenied, match="needs the technician"):
            expansion.record_passage(
                s,
                w.clinician,
                lot_id=lot_id,
                number=0,
                seeded_at=hours(1),
                cells_seeded_text="5e6",
                area_text="175 cm²",
                vessels="T175",
                reagent_lot_ids=w.reagent_ids,
            )
        with w.session() as s, pytest.raises(PermissionDenied, match="record manufacturing"):
            harvests.record_harvest(
                s,
                w.qa,
                subject_id=w.subject_id,
                collected_at=T0,
                volume_text="90 mL",
                anticoagulant="heparin",
                aspiration_site="iliac crest",
            )
        with w.session() as s, pytest.raises(PermissionDenied, match="needs the qa role"):
            reagents.release_reagent_lot(s, w.tech, w.reagent_ids[0])
        with w.session() as s, pytest.raises(PermissionDenied, match="view batch records"):
            passage_table.passage_table(s, w.clinician, lot_id)  # blinded staff see no counts
        with w.session() as s, pytest.raises(PermissionDenied, match="manage sites"):
            sites.create_site(
                s,
                w.tech,
                name="X",
                fin="B1234",
                timezone="UTC",
                decimal_separator=".",
                address="",
                product_code_msc="S12341",
                product_code_placebo="S12351",
            )
        with w.session() as s, pytest.raises(PermissionDenied):
            formulation.formulate(s, w.qa, lot_id=lot_id, volume_text="50 mL", storage="2–8 °C")
    verify_ok(w.db)


def test_a_lot_written_up_from_paper_starts_when_the_paper_says(world: World) -> None:
    """``started_at`` is checked like every recorded time: with its zone, not in the
    future, not before the collection; the lot list and history show it."""
    w = world
    with w.session() as s:
        harvest = harvests.record_harvest(
            s,
            w.tech,
            subject_id=w.subject_id,
            collected_at=T0,
            volume_text="90 mL",
            anticoagulant="heparin",
            aspiration_site="posterior iliac crest",
            tnc_text="1.2e9 cells",
        )
    refusals = [
        (T0 - dt.timedelta(minutes=1), "Started at: .* is before the bone marrow was collected"),
        (NOW + dt.timedelta(days=1), "Started at: .* is in the future"),
        (hours(1).replace(tzinfo=None), "Started at: .* has no time zone"),
    ]
    with nothing_stored(w.db):
        for when, message in refusals:
            with w.session() as s, pytest.raises(ValidationError, match=message) as err:
                expansion.start_lot(s, w.tech, harvest_id=harvest.id, started_at=when)
            assert err.value.field == "Started at"
    berlin = hours(2).astimezone(ZoneInfo("Europe/Berlin"))
    with w.session() as s:
        lot_id = expansion.start_lot(s, w.tech, harvest_id=harvest.id, started_at=berlin)
    with w.session() as s:
        assert s.get(Lot, lot_id).created_at == hours(2)


def test_steps_out_of_order_are_refused_with_the_rule(world: World) -> None:
    w = world
    lot_id, din = start(w)
    with nothing_stored(w.db):
        with pytest.raises(InvalidTransition, match=r"has no P0 yet; passages are recorded P0"):
            seed(w, lot_id, 1, hours(1))
        with w.session() as s, pytest.raises(InvalidTransition, match=f"already has lot L-{din}"):
            harvest_id = s.exec(select(Lot.harvest_id).where(Lot.id == lot_id)).one()
            expansion.start_lot(s, w.tech, harvest_id=harvest_id)
        with pytest.raises(ValidationError, match="before the bone marrow was collected"):
            seed(w, lot_id, 0, T0 - dt.timedelta(hours=1))
    p0 = seed(w, lot_id, 0, hours(1))
    with nothing_stored(w.db):
        with pytest.raises(InvalidTransition, match="P0 of lot .* has not been harvested"):
            seed(w, lot_id, 1, hours(100))
        with pytest.raises(InvalidTransition, match="last passage P0 has not been harvested"):
            with w.session() as s:
                formulation.formulate(
                    s, w.tech, lot_id=lot_id, volume_text="50 mL", storage="2–8 °C"
                )
    with pytest.raises(ValidationError, match="Harvested at: .* is before P0 was seeded") as err:
        harvest_passage(w, p0, hours(0.5))
    assert err.value.field == "Harvested at"
    with pytest.raises(ValidationError, match="is the same time as P0 was seeded"):
        harvest_passage(w, p0, hours(1))
    early = count(w, lot_id, hours(50), hemocytometer((100, 5), (104, 4)))
    harvest_passage(w, p0, hours(97))
    with w.session() as s, pytest.raises(InvalidTransition, match="predates the harvest of P0"):
        formulation.formulate(s, w.tech, lot_id=lot_id, volume_text="50 mL", storage="2–8 °C")
    assert early.recount_required is False
    with pytest.raises(InvalidTransition, match="already recorded .* correct it instead"):
        harvest_passage(w, p0, hours(98))
    with pytest.raises(InvalidTransition, match="has no P1 yet"):
        seed(w, lot_id, 2, hours(98))
    with pytest.raises(InvalidTransition, match="already has P0"):
        seed(w, lot_id, 0, hours(98))
    with pytest.raises(ValidationError, match="Seeded at: .* is before P0 was harvested"):
        seed(w, lot_id, 1, hours(96))
    count(w, lot_id, hours(98), hemocytometer((100, 5), (104, 4)))
    with w.session() as s:
        formulation.formulate(
            s, w.tech, lot_id=lot_id, volume_text="15 mL", storage="2–8 °C", formulated_at=hours(99)
        )
    with nothing_stored(w.db):
        with pytest.raises(InvalidTransition, match="no passage after formulation"):
            seed(w, lot_id, 1, hours(100))
        with pytest.raises(InvalidTransition, match="lot .* is awaiting-release"):
            count(w, lot_id, hours(100), hemocytometer((100, 5), (104, 4)))
        with pytest.raises(InvalidTransition, match="Cannot formulate"):
            with w.session() as s:
                formulation.formulate(
                    s, w.tech, lot_id=lot_id, volume_text="50 mL", storage="2–8 °C"
                )
    verify_ok(w.db)


def test_only_released_unexpired_reagent_lots_can_be_used(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    lot_id, _ = start(w)
    quarantined = new_reagent(w, "FBS", "F-12", kind="supplement", release=False)
    rejected = new_reagent(w, "FBS", "F-13", kind="supplement")
    with w.session() as s:
        reagents.reject_reagent_lot(s, w.qa, rejected, "failed sterility on receipt")
    # Seeding at 23:30 UTC is already the next day in Berlin, where the label was read.
    late = (T0 + dt.timedelta(days=1)).replace(hour=23, minute=30)
    berlin_day = late.astimezone(ZoneInfo("Europe/Berlin")).date()
    with monkeypatch.context() as m:  # lots registered and released two months ago
        m.setattr(reagents, "utcnow", lambda: T0 - dt.timedelta(days=60))
        expired = new_reagent(
            w, "Trypsin", "TR-1", kind="dissociation", expiry=berlin_day - dt.timedelta(days=1)
        )
        last_day = new_reagent(w, "Trypsin", "TR-2", kind="dissociation", expiry=berlin_day)
    with nothing_stored(w.db):
        for reagent_id, message in [
            (quarantined, "FBS lot F-12 .* has not been released by QA"),
            (rejected, "FBS lot F-13 .* has been rejected"),
            (
                expired,
                f"Trypsin lot TR-1 .* expired on {berlin_day - dt.timedelta(days=1)}, "
                f"before its use on {berlin_day}",
            ),
        ]:
            with pytest.raises(InvalidTransition, match=message):
                seed(w, lot_id, 0, late, reagent_ids=[w.reagent_ids[0], reagent_id])
        for bad in ([], [w.reagent_ids[0], w.reagent_ids[0]]):
            with pytest.raises(ValidationError, match="Reagent lots"):
                seed(w, lot_id, 0, late, reagent_ids=bad)
        with w.session() as s, pytest.raises(InvalidTransition, match="only a lot in quarantine"):
            reagents.release_reagent_lot(s, w.qa, rejected)
    seed(w, lot_id, 0, late, reagent_ids=[w.reagent_ids[0], last_day])  # usable all day
    verify_ok(w.db)


def test_no_passage_beyond_the_specification_maximum(world: World) -> None:
    w = world
    lot_id, _ = start(w)
    grow(w, lot_id, passages=5)  # P0 … P4
    with (
        nothing_stored(w.db),
        pytest.raises(InvalidTransition, match=r"specification v1 allows passages up to P4"),
    ):
        seed(w, lot_id, 5, hours(500))


def test_high_cv_is_kept_flagged_and_blocks_formulation_until_a_recount(world: World) -> None:
    w = world
    lot_id, _ = start(w)
    grow(w, lot_id, passages=1)
    with nothing_stored(w.db), pytest.raises(ValidationError, match="requires at least 2"):
        count(w, lot_id, hours(98), hemocytometer((100, 5)))
    # 80 and 100 live over 4 squares × 10 × 10⁴ = 2.0e6 and 2.5e6 /mL:
    # SD = 0.5e6 / √2 = 353 553, mean 2.25e6, CV = 15.71 %.
    flagged = count(w, lot_id, hours(98), hemocytometer((80, 4), (100, 5)))
    assert flagged.recount_required
    assert flagged.cv_pct == pytest.approx(15.713484026367722)
    rule = r"recount required: the last final-product count's CV 15\.7 % exceeds 10 %"
    with w.session() as s, pytest.raises(InvalidTransition, match=rule):
        formulation.formulate(s, w.tech, lot_id=lot_id, volume_text="15 mL", storage="2–8 °C")
    with w.db.reader() as s:
        kept = s.get(CellCount, flagged.id)
        assert kept is not None
        assert kept.recount_required
        with pytest.raises(InvalidTransition, match=rule):
            counts.usable_count(s, lot_id, counts.FINAL_PRODUCT)
    recount = count(w, lot_id, hours(99), hemocytometer((100, 5), (104, 4)))
    assert not recount.recount_required
    with w.session() as s:
        made = formulation.formulate(
            s,
            w.tech,
            lot_id=lot_id,
            volume_text="15 mL",
            storage="2–8 °C",
            formulated_at=hours(100),
        )
    assert made.count_id == recount.id
    with w.session() as s, pytest.raises(InvalidTransition, match="only be added while"):
        counts.void_count(s, w.tech, recount.id, "wrong chamber")
    verify_ok(w.db)


def _refused(db: Database, cases: list[tuple[Any, str, str]]) -> None:
    """Each attempt raises a ValidationError for ``field`` containing ``message``."""
    with nothing_stored(db):
        for attempt, field, message in cases:
            with pytest.raises(ValidationError) as refused:
                attempt()
            assert refused.value.field == field
            assert message in refused.value.message
            assert field in refused.value.message


def test_bad_quantities_are_refused_naming_the_field_and_nothing_is_stored(
    world: World,
) -> None:
    w = world
    lot_id, _ = start(w)
    p0 = seed(w, lot_id, 0, hours(1))

    def harvest_with(volume: str, at: dt.datetime = T0) -> None:
        with w.session() as s:
            harvests.record_harvest(
                s,
                w.tech,
                subject_id=w.subject_id,
                collected_at=at,
                volume_text=volume,
                anticoagulant="heparin",
                aspiration_site="iliac crest",
            )

    def automated(concentration: str, viability: str) -> None:
        count(
            w,
            lot_id,
            hours(98),
            [AutomatedReplicate("2e6/mL", "95 %"), AutomatedReplicate(concentration, viability)],
        )

    _refused(
        w.db,
        [
            (
                lambda: harvest_with("90 kg"),
                "Volume aspirated",
                '"90 kg" is a mass; expected a volume',
            ),
            (lambda: harvest_with("-90 mL"), "Volume aspirated", '"-90 mL" is negative'),
            (
                lambda: harvest_with("90 mL", NOW + dt.timedelta(days=1)),
                "Collected at",
                "is in the future",
            ),
            (
                lambda: harvest_with("90 mL", T0.replace(tzinfo=None)),
                "Collected at",
                "no time zone",
            ),
            (
                lambda: harvest_passage(w, p0, hours(97), "4e7", "120 %"),
                "Viability",
                '"120 %" is above 100 %',
            ),
            (
                lambda: harvest_passage(w, p0, hours(97), "4e7 mL"),
                "Cells harvested",
                '"4e7 mL" is a volume; expected a cell count',
            ),
            (lambda: harvest_passage(w, p0, hours(97), "0 cells"), "Cells harvested", "is zero"),
            (
                lambda: automated("2e6 cells", "95 %"),
                "Total concentration",
                'Replicate 2: Total concentration: "2e6 cells" is a cell count',
            ),
            (
                lambda: count(
                    w,
                    lot_id,
                    hours(98),
                    [HemocytometerReplicate(100, 5, 4, 10), HemocytometerReplicate(100, 5, 0, 10)],
                ),
                "Squares counted",
                "Replicate 2: Squares counted: 0 must be at least 1",
            ),
        ],
    )
    harvest_passage(w, p0, hours(97))
    _refused(
        w.db,
        [
            (
                lambda: seed(w, lot_id, 1, hours(98), "5e6 mL"),
                "Cells seeded",
                '"5e6 mL" is a volume; expected a cell count',
            ),
            (lambda: seed(w, lot_id, 1, hours(98), "-5e6 cells"), "Cells seeded", "is negative"),
            (
                lambda: seed(w, lot_id, 1, hours(98), "5e6", "175 mL"),
                "Surface area",
                '"175 mL" is a volume; expected an area',
            ),
            (
                lambda: seed(w, lot_id, 1, hours(98), "5,0e6"),
                "Cells seeded",
                'decimals are written with "."',
            ),
        ],
    )
    count(w, lot_id, hours(98), hemocytometer((100, 5), (104, 4)))

    def formulate(volume: str, bags: int = 1) -> None:
        with w.session() as s:
            formulation.formulate(
                s, w.tech, lot_id=lot_id, volume_text=volume, storage="2–8 °C", bags=bags
            )

    _refused(
        w.db,
        [
            (lambda: formulate("50 kg"), "Volume per bag", '"50 kg" is a mass'),
            (lambda: formulate("50 mL", bags=0), "Bags", "expected 1 to 26"),
        ],
    )
    verify_ok(w.db)
