"""Records for the document tests, written through the models (audited as in production)
and through the QC, signature and disposition services that exist."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from lottrack.manufacturing import investigations, lots, qc, specifications
from lottrack.records import signatures
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.release import disposition
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import (
    Dispensing,
    DispensingCheck,
    Harvest,
    Infusion,
    Lot,
    Passage,
    ProductUnit,
    ReagentLot,
    Site,
    Subject,
    Visit,
    WeightMeasurement,
    utcnow,
)
from tests.conftest import PASSWORD

DAY = dt.timedelta(days=1)
PANEL = {
    "viability_fresh": "92.5 %",
    "cd73": "97.2 %",
    "cd90": "98.9 %",
    "cd105": "96.4 %",
    "cd45": "0.4 %",
    "cd34": "0.2 %",
    "cd14": "0.6 %",
    "cd19": "0.1 %",
    "hla_dr": "1.1 %",
    "sterility": "no growth",
    "mycoplasma": "not detected",
    "endotoxin": "0.8 EU/mL",
    "karyotype": "46,XY normal",
}


_PEOPLE = {
    "tech": ("technician", "Theo Technician"),
    "qa": ("qa", "Quinn Quality"),
    "pharm": ("pharmacist", "Pia Pharmacist"),
    "pharm2": ("pharmacist", "Paul Pharmacist"),
    "ward": ("clinician", "Wendy Ward"),
}


@dataclass
class People:
    """Who does what (separation of duties needs distinct people); only the people a test
    needs are created, as each account costs an argon2 hash."""

    make_user: Callable[..., CurrentUser]
    made: dict[str, CurrentUser] = field(default_factory=dict)

    def _get(self, username: str) -> CurrentUser:
        if username not in self.made:
            role, name = _PEOPLE[username]
            self.made[username] = self.make_user(role, username=username, full_name=name)
        return self.made[username]

    @property
    def tech(self) -> CurrentUser:
        """The lab technician."""
        return self._get("tech")

    @property
    def qa(self) -> CurrentUser:
        """Quality assurance."""
        return self._get("qa")

    @property
    def pharm(self) -> CurrentUser:
        """The preparing pharmacist."""
        return self._get("pharm")

    @property
    def pharm2(self) -> CurrentUser:
        """The second verifier."""
        return self._get("pharm2")

    @property
    def ward(self) -> CurrentUser:
        """The blinded ward clinician."""
        return self._get("ward")


def people(make_user: Callable[..., CurrentUser]) -> People:
    """The people of a test, created when first used."""
    return People(make_user)


def _as(session: Session, who: CurrentUser) -> None:
    audit.set_actor(session, who.id, who.username)


def site(db: Database, tech: CurrentUser) -> int:
    """The demo site (Berlin time)."""
    with db.session() as s:
        _as(s, tech)
        row = Site(
            name="Demo University Hospital — Cell Therapy Facility",
            address="1 Hospital Road, 10115 Demo City",
            timezone="Europe/Berlin",
            fin="A9999",
            product_code_msc="S1234100",
            product_code_placebo="S1235100",
        )
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def subject(db: Database, tech: CurrentUser, site_id: int, n: int) -> tuple[int, int]:
    """Subject TLS-00n with a harvest (DIN A99992400012n); returns (subject, harvest)."""
    now = utcnow()
    with db.session() as s:
        _as(s, tech)
        subj = Subject(
            code=f"TLS-00{n}",
            initials="AB",
            date_of_birth=dt.date(1960 + n, 4, 12),
            site_id=site_id,
            coi_id=f"COI-7KX2M{n}",
            created_by=tech.id,
        )
        s.add(subj)
        s.flush()
        assert subj.id is not None
        harvest = Harvest(
            subject_id=subj.id,
            din=f"A99992400012{n}",
            collected_at=now - 30 * DAY,
            volume_ml=92.0,
            volume_text="92 mL",
            anticoagulant="heparin",
            aspiration_site="posterior iliac crest",
            operator_id=tech.id,
        )
        s.add(harvest)
        s.add(
            WeightMeasurement(
                subject_id=subj.id,
                measured_at=now - DAY,
                weight_kg=70.0,
                weight_text="70 kg",
                recorded_by=tech.id,
            )
        )
        s.flush()
        assert harvest.id is not None
        return subj.id, harvest.id


def manufactured_lot(
    db: Database,
    tech: CurrentUser,
    subject_id: int,
    harvest_id: int,
    *,
    kit_code: str = "K-M3RZ9C2D",
) -> tuple[int, int]:
    """A lot with three harvested passages, a corrected seeding count and one MSC bag, in
    process; returns (lot, bag)."""
    now = utcnow()
    start = now - 28 * DAY
    with db.session() as s:
        _as(s, tech)
        spec = specifications.current_spec(s)
        harvest = s.get(Harvest, harvest_id)
        assert harvest is not None
        assert spec.id is not None
        lot = Lot(
            lot_number=f"L-24-000{subject_id}",
            harvest_id=harvest_id,
            subject_id=subject_id,
            spec_id=spec.id,
            created_by=tech.id,
        )
        s.add(lot)
        s.flush()
        assert lot.id is not None
        # (cells seeded, cells harvested, days in culture, area cm²)
        counts = [(2.5e7, 4.0e7, 10, 20000.0), (4.1e6, 2.6e7, 5, 4000.0), (5.0e6, 3.1e7, 4, 5000.0)]
        seeded = start
        for number, (cells_in, cells_out, days, area) in enumerate(counts):
            s.add(
                Passage(
                    lot_id=lot.id,
                    number=number,
                    seeded_at=seeded,
                    cells_seeded=cells_in,
                    cells_seeded_text=f"{cells_in:.2e}",
                    area_cm2=area,
                    area_text=f"{area:g} cm²",
                    vessels="T175",
                    harvested_at=seeded + days * DAY,
                    cells_harvested=cells_out,
                    cells_harvested_text=f"{cells_out:.2e}",
                    viability_pct=95.0,
                    recorded_by=tech.id,
                    harvest_recorded_by=tech.id,
                )
            )
            seeded += days * DAY + dt.timedelta(hours=2)
        s.flush()
        p1 = s.exec(select(Passage).where(Passage.lot_id == lot.id, Passage.number == 1)).one()
        with audit.reason(s, "transcription error in the seeding count"):
            p1.cells_seeded_text, p1.cells_seeded = "4.0e6 cells", 4.0e6 + 0.0
            p1.vessels = "2 × T175"
        unit = ProductUnit(
            kind="msc",
            subject_id=subject_id,
            lot_id=lot.id,
            din=harvest.din,
            product_code="S1234100",
            division="00",
            kit_code=kit_code,
            volume_ml=50.0,
            volume_text="50 mL",
            concentration_per_ml=2.0e6,
            viability_pct=92.5,
            viable_cells=9.25e7,
            formulated_at=now - DAY,
            expires_at=now + 2 * DAY,
            storage="2–8 °C, do not freeze",
            created_by=tech.id,
        )
        s.add(unit)
        s.flush()
        assert unit.id is not None
        return lot.id, unit.id


def record_qc(db: Database, tech: CurrentUser, lot_id: int, codes: dict[str, str]) -> None:
    """QC results through the QC service (conformity computed there)."""
    when = utcnow() - 3 * DAY
    with db.session() as s:
        for code, value in codes.items():
            qc.record_result(s, tech, lot_id=lot_id, test=code, value_text=value, tested_at=when)


def release(
    db: Database, p: People, lot_id: int, *, exceptional: bool = False, hold_first: bool = False
) -> None:
    """Record the QC panel and release the lot (QA signs). ``hold_first`` quarantines the
    lot half way through QC and lifts the hold, so that those two signatures are
    invalidated by the results recorded afterwards. ``exceptional`` fails CD73 and uses
    the Part IV §11.5 path."""
    tech, qa = p.tech, p.qa  # created before any write session
    panel = dict(PANEL, cd73="93.0 %") if exceptional else dict(PANEL)
    codes = list(panel)
    record_qc(db, tech, lot_id, {c: panel[c] for c in codes[:5]})
    creds = Credentials(qa.username, PASSWORD)
    if hold_first:
        with db.session() as s:
            disposition.quarantine(s, qa, lot_id, creds, "sterility sample delayed")
        with db.session() as s:
            disposition.lift_quarantine(s, qa, lot_id, creds, "sample arrived")
    record_qc(db, tech, lot_id, {c: panel[c] for c in codes[5:]})
    with db.session() as s:
        _as(s, tech)
        lot = s.get(Lot, lot_id)
        assert lot is not None
        lots.set_status(s, lot, lots.AWAITING_RELEASE, "formulated; awaiting QA release")
    if exceptional:  # QA concludes the OOS investigation: no laboratory error
        with db.session() as s:
            for inv in investigations.views(s, lot_id):
                investigations.close(
                    s,
                    qa,
                    creds,
                    inv.id,
                    lab_error=False,
                    conclusion="No assignable laboratory error; CD73 stands.",
                )
    with db.session() as s:
        if exceptional:
            records = disposition.ExceptionalRelease(
                "Written request of Dr. Rita Request: no alternative treatment.",
                "Risk evaluation RE-2024-07: CD73 93.0 % against ≥ 95 %.",
                "Dr. Rita Request accepted the risk evaluation.",
                utcnow() - dt.timedelta(hours=2),
            )
            disposition.release_exceptional(
                s, qa, lot_id, creds, records, "physician request, no alternative"
            )
        else:
            disposition.release(s, qa, lot_id, creds)


def placebo_bag(db: Database, p: People, subject_id: int, harvest_id: int, kit_code: str) -> int:
    """A placebo bag as the pharmacy makes it (suspension media, another division form)."""
    pharm = p.pharm  # created before the write session below
    now = utcnow()
    with db.session() as s:
        _as(s, pharm)
        media = ReagentLot(
            name="Suspension media",
            kind="suspension-media",
            supplier="Acme",
            lot_number="SM-0042",
            expiry=(now + 90 * DAY).date(),
            status="released",
        )
        s.add(media)
        s.flush()
        harvest = s.get(Harvest, harvest_id)
        assert harvest is not None
        unit = ProductUnit(
            kind="placebo",
            subject_id=subject_id,
            reagent_lot_id=media.id,
            din=harvest.din,
            product_code="S1234100",
            division="K3",
            kit_code=kit_code,
            volume_ml=50.0,
            volume_text="50 mL",
            formulated_at=now - DAY,
            expires_at=now + 2 * DAY,
            storage="2–8 °C, do not freeze",
            created_by=pharm.id,
        )
        s.add(unit)
        s.flush()
        assert unit.id is not None
        return unit.id


def infused(
    db: Database,
    p: People,
    subject_id: int,
    unit_id: int,
    *,
    dose: float | None,
    check_2_detail: str,
    shift: dt.timedelta,
) -> int:
    """Visit 1 of the subject: dispensed, verified by two pharmacists (signed), checked at
    the bedside and infused; returns the infusion id."""
    from lottrack.trial.dispensing import dispensing_content
    from lottrack.trial.ward import administration_content

    pharm, pharm2, ward = p.pharm, p.pharm2, p.ward  # created before the write session
    base = utcnow() - 2 * DAY + shift
    with db.session() as s:
        _as(s, pharm)
        visit = Visit(subject_id=subject_id, period=1, planned_date=base.date(), status="infused")
        s.add(visit)
        weight = s.exec(
            select(WeightMeasurement).where(WeightMeasurement.subject_id == subject_id)
        ).one()
        s.flush()
        assert visit.id is not None
        assert weight.id is not None
        dispensing = Dispensing(
            visit_id=visit.id,
            unit_id=unit_id,
            weight_id=weight.id,
            weight_kg=70.0,
            dose_cells_per_kg=dose,
            status="prepared",
            prepared_by=pharm.id,
            prepared_at=base,
            use_by=base + dt.timedelta(minutes=30),
        )
        s.add(dispensing)
        s.flush()
        assert dispensing.id is not None
        for stage, who, minutes in (("prepare", pharm, 0), ("verify", pharm2, 15)):
            for number, name in enumerate(
                ("chain of identity", "lot released", "not expired"), start=1
            ):
                s.add(
                    DispensingCheck(
                        dispensing_id=dispensing.id,
                        stage=stage,
                        number=number,
                        name=name,
                        passed=True,
                        detail=check_2_detail if number == 2 else "ok",
                        checked_at=base + dt.timedelta(minutes=minutes),
                        checked_by=who.id,
                    )
                )
        s.flush()
        content = dispensing_content(s, dispensing)
        first = signatures.sign(
            s,
            pharm,
            Credentials(pharm.username, PASSWORD),
            meaning="dose-verified",
            record_type="dispensing",
            record_id=dispensing.id,
            content=content,
        )
        second = signatures.sign(
            s,
            pharm2,
            Credentials(pharm2.username, PASSWORD),
            meaning="second-verified",
            record_type="dispensing",
            record_id=dispensing.id,
            content=content,
        )
        _as(s, pharm2)
        with audit.reason(s, "verified"):
            dispensing.prepared_signature_id = first.id
            dispensing.verified_signature_id = second.id
            dispensing.verified_by = pharm2.id
            dispensing.verified_at = base + dt.timedelta(minutes=15)
            dispensing.status = "infused"
        _as(s, ward)
        infusion = Infusion(
            dispensing_id=dispensing.id,
            identity_checked_at=base + dt.timedelta(minutes=50),
            identity_checked_by=ward.id,
            started_at=base + dt.timedelta(minutes=55),
            ended_at=base + dt.timedelta(minutes=95),
            administered_by=ward.id,
            reactions="mild chills at 20 min",
            reaction_grade=1,
        )
        s.add(infusion)
        s.flush()
        assert infusion.id is not None
        administered = signatures.sign(
            s,
            ward,
            Credentials(ward.username, PASSWORD),
            meaning="administered",
            record_type="infusion",
            record_id=infusion.id,
            content=administration_content(
                infusion, ended_at=infusion.ended_at, reactions=infusion.reactions, grade=1
            ),
        )
        with audit.reason(s, "infusion completed"):
            infusion.signature_id = administered.id
        return infusion.id


def prepared_at(db: Database, infusion_id: int) -> dt.datetime:
    """When the bag of an infusion was dispensed."""
    with db.reader() as s:
        infusion = s.get(Infusion, infusion_id)
        assert infusion is not None
        dispensing = s.get(Dispensing, infusion.dispensing_id)
        assert dispensing is not None
        return dispensing.prepared_at
