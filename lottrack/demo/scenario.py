"""Drive the real services through a subject's whole journey.

The demo database and the end-to-end tests are built with these steps, so both exercise
exactly the code a person's actions run (every record audited, every rule applied).
Times are placed in the past relative to now, as a real record would be.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lottrack.facility import sites, subjects
from lottrack.manufacturing import (
    counts,
    expansion,
    formulation,
    harvests,
    investigations,
    qc,
    reagents,
)
from lottrack.manufacturing.counts import HemocytometerReplicate
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.release import disposition
from lottrack.storage import audit, settings
from lottrack.storage.db import Database
from lottrack.storage.models import Setting, utcnow
from lottrack.trial import allocation, dispensing, visits, ward

#: QC results that meet specification v1 (endotoxin is judged against the computed limit).
CONFORMING_QC: Mapping[str, str] = {
    "viability_fresh": "94 %",
    "cd73": "99.1 %",
    "cd90": "98.7 %",
    "cd105": "97.9 %",
    "cd45": "0.4 %",
    "cd34": "0.2 %",
    "cd14": "0.3 %",
    "cd19": "0.1 %",
    "hla_dr": "0.5 %",
    "sterility": "no growth",
    "mycoplasma": "not detected",
    "endotoxin": "0.25 EU/mL",
    "karyotype": "46,XX normal",
    "potency": "62 % inhibition at 1:10",
}


@dataclass
class Cast:
    """The people of a scenario and their passwords (signing asks for them)."""

    people: dict[str, CurrentUser]
    passwords: dict[str, str]

    def who(self, role: str) -> CurrentUser:
        """The person playing ``role`` (technician, qa, pharmacist, pharmacist2, clinician,
        investigator, admin)."""
        return self.people[role]

    def creds(self, role: str) -> Credentials:
        """That person's signature credentials."""
        person = self.people[role]
        return Credentials(person.username, self.passwords[role])


@dataclass
class Scenario:
    """A site with released reagents, ready for subjects."""

    db: Database
    cast: Cast
    site_id: int
    reagent_ids: list[int] = field(default_factory=list)
    media_id: int = 0

    # ------------------------------------------------------------------ setup

    @classmethod
    def create(
        cls,
        db: Database,
        cast: Cast,
        *,
        fin: str = "A9999",
        site_name: str = "Demo University Hospital — Cell Therapy Facility",
    ) -> Scenario:
        """A site and released reagent lots (medium, platelet lysate, trypsin, media)."""
        with db.session() as s:
            site = sites.create_site(
                s,
                cast.who("admin"),
                name=site_name,
                fin=fin,
                timezone="Europe/Berlin",
                decimal_separator=".",
                address="1 Hospital Road, Demo City",
                product_code_msc="S1234100",
                product_code_placebo="S1235000",
            )
        scenario = cls(db, cast, site.id)
        expiry = (utcnow() + dt.timedelta(days=365)).date()
        for name, kind, lot in (
            ("MEM alpha", "medium", "M-2611"),
            ("Human platelet lysate", "supplement", "PL-0412"),
            ("TrypLE Select", "dissociation", "T-5531"),
            ("Saline + 5 % albumin", dispensing.SUSPENSION_MEDIA, "SM-88"),
        ):
            with db.session() as s:
                info = reagents.register_reagent_lot(
                    s,
                    cast.who("technician"),
                    name=name,
                    kind=kind,
                    supplier="Acme Bio",
                    lot_number=lot,
                    expiry=expiry,
                )
            with db.session() as s:
                reagents.release_reagent_lot(s, cast.who("qa"), info.id)
            if kind == dispensing.SUSPENSION_MEDIA:
                scenario.media_id = info.id
            else:
                scenario.reagent_ids.append(info.id)
        return scenario

    # --------------------------------------------------------------- manufacturing

    def subject(self, code: str, dob: dt.date, initials: str = "XX") -> int:
        """Register a subject."""
        with self.db.session() as s:
            return subjects.register_subject(
                s,
                self.cast.who("clinician"),
                code=code,
                initials=initials,
                date_of_birth=dob,
                site_id=self.site_id,
            ).id

    def harvest_and_lot(self, subject_id: int, collected_at: dt.datetime) -> int:
        """A bone-marrow harvest and the lot grown from it."""
        tech = self.cast.who("technician")
        with self.db.session() as s:
            harvest = harvests.record_harvest(
                s,
                tech,
                subject_id=subject_id,
                collected_at=collected_at,
                volume_text="90 mL",
                anticoagulant="heparin",
                aspiration_site="posterior iliac crest",
                tnc_text="1.4e9 cells",
            )
        with self.db.session() as s:
            # Started as the bulk demo starts its lots: 20 minutes after the collection.
            return expansion.start_lot(
                s, tech, harvest_id=harvest.id, started_at=collected_at + dt.timedelta(minutes=20)
            )

    def passages(self, lot_id: int, start: dt.datetime, n: int = 3) -> dt.datetime:
        """P0 … P(n-1), each seeded and harvested; returns the last harvest time."""
        tech = self.cast.who("technician")
        growth = [
            ("5e6 cells", "175 cm²", "4.0e7 cells", 96),
            ("1.0e7 cells", "636 cm²", "8.0e7 cells", 72),
            ("2.0e7 cells", "1272 cm²", "1.4e8 cells", 60),
        ]
        at = start
        for number in range(n):
            seeded, area, harvested, hours = growth[min(number, 2)]
            with self.db.session() as s:
                pid = expansion.record_passage(
                    s,
                    tech,
                    lot_id=lot_id,
                    number=number,
                    seeded_at=at,
                    cells_seeded_text=seeded,
                    area_text=area,
                    vessels="CellSTACK",
                    reagent_lot_ids=self.reagent_ids,
                )
            at += dt.timedelta(hours=hours)
            with self.db.session() as s:
                expansion.record_passage_harvest(
                    s,
                    tech,
                    passage_id=pid,
                    harvested_at=at,
                    cells_harvested_text=harvested,
                    viability_text="95 %",
                )
            at += dt.timedelta(minutes=30)
        return at

    def final_count(self, lot_id: int, at: dt.datetime, *, spread: bool = False) -> None:
        """A final-product hemocytometer count (``spread`` gives a CV over 10 %)."""
        reps = (
            [HemocytometerReplicate(60, 3, 4, 10), HemocytometerReplicate(90, 4, 4, 10)]
            if spread
            else [HemocytometerReplicate(100, 4, 4, 10), HemocytometerReplicate(104, 5, 4, 10)]
        )
        with self.db.session() as s:
            counts.record_count(
                s,
                self.cast.who("technician"),
                lot_id=lot_id,
                target=counts.FINAL_PRODUCT,
                method=counts.HEMOCYTOMETER,
                counted_at=at,
                replicates=reps,
            )

    def formulate(self, lot_id: int, at: dt.datetime, volume: str = "50 mL") -> int:
        """Fill one fresh bag; returns its id (2.55e6 viable/mL × 50 mL ≈ 1.28e8 cells, of
        the 1.33e8 viable cells harvested at P2)."""
        with self.db.session() as s:
            made = formulation.formulate(
                s,
                self.cast.who("technician"),
                lot_id=lot_id,
                volume_text=volume,
                storage="2–8 °C",
                formulated_at=at,
            )
        return made.units[0].id

    def qc(self, lot_id: int, at: dt.datetime, results: Mapping[str, str] | None = None) -> None:
        """Enter QC results (by default every result conforming)."""
        for code, value in (results or CONFORMING_QC).items():
            with self.db.session() as s:
                qc.record_result(
                    s,
                    self.cast.who("technician"),
                    lot_id=lot_id,
                    test=code,
                    value_text=value,
                    tested_at=at,
                    method="per SOP",
                )

    def made_lot(
        self,
        subject_id: int,
        *,
        weight: str = "70 kg",
        qc_results: Mapping[str, str] | None = None,
        volume: str = "50 mL",
    ) -> tuple[int, int]:
        """Harvest → P0–P2 → count → fresh bag (formulated an hour ago) → QC; returns
        (lot id, bag id). The lot awaits release."""
        now = utcnow()
        lot_id = self.harvest_and_lot(subject_id, now - dt.timedelta(days=12))
        self.passages(lot_id, now - dt.timedelta(days=12) + dt.timedelta(hours=2))
        self.weight(subject_id, weight, now - dt.timedelta(days=1))
        self.final_count(lot_id, now - dt.timedelta(hours=2))
        bag = self.formulate(lot_id, now - dt.timedelta(hours=1), volume)
        self.qc(lot_id, now - dt.timedelta(minutes=30), qc_results)
        return lot_id, bag

    def conclude_investigations(
        self,
        lot_id: int,
        *,
        lab_error: bool = False,
        conclusion: str = "No assignable laboratory error found; the original result is confirmed.",
    ) -> None:
        """QA closes every open OOS investigation of the lot (signed)."""
        with self.db.reader() as s:
            open_ids = [v.id for v in investigations.views(s, lot_id) if v.is_open]
        for inv_id in open_ids:
            with self.db.session() as s:
                investigations.close(
                    s,
                    self.cast.who("qa"),
                    self.cast.creds("qa"),
                    inv_id,
                    lab_error=lab_error,
                    conclusion=conclusion,
                )

    def release(self, lot_id: int) -> int:
        """QA releases the lot with a signature."""
        with self.db.session() as s:
            return disposition.release(
                s,
                self.cast.who("qa"),
                lot_id,
                self.cast.creds("qa"),
                "batch record reviewed; all results conform",
            )

    # --------------------------------------------------------------------- trial

    def weight(self, subject_id: int, text: str, at: dt.datetime) -> None:
        """A body weight recorded on the ward."""
        with self.db.session() as s:
            visits.record_weight(
                s,
                self.cast.who("clinician"),
                subject_id=subject_id,
                weight_text=text,
                measured_at=at,
            )

    def enrol(self, subject_id: int, sequence: str, week0: dt.date) -> tuple[int, int]:
        """Allocate a sequence and schedule both visits; returns the visit ids."""
        with self.db.session() as s:
            allocation.assign(
                s,
                self.cast.who("pharmacist"),
                subject_id=subject_id,
                sequence=sequence,
                source="sealed list (demo)",
            )
        with self.db.session() as s:
            return visits.schedule(
                s, self.cast.who("pharmacist"), subject_id=subject_id, week0=week0
            )

    @contextlib.contextmanager
    def compressed_time(self) -> Iterator[None]:
        """Dispense visits whose planned date is far from today (a period 1 of 24 weeks
        ago, a period 2 of 24 weeks ahead): the demo and the tests compress the trial's
        months into one moment. The visit window is widened inside and set back after."""
        key = "visit_window_days"
        self._set(key, "36500", "compressed time: visit window widened")
        try:
            yield
        finally:
            self._set(key, settings.DEFAULTS[key], "compressed time over: visit window set back")

    def _set(self, key: str, value: str, why: str) -> None:
        admin = self.cast.who("admin")
        with self.db.session() as s:
            audit.set_actor(s, admin.id, admin.username)
            with audit.reason(s, f"{why} (demo or test scenario)"):
                s.merge(Setting(key=key, value=value))

    def dispense(self, visit_id: int, *, msc_bag: int | None = None) -> int:
        """Prepare (MSC bag given, else placebo) and second-verify; returns dispensing id."""
        with self.db.session() as s:
            prep = dispensing.prepare(
                s,
                self.cast.who("pharmacist"),
                self.cast.creds("pharmacist"),
                visit_id=visit_id,
                unit_id=msc_bag,
                placebo=None if msc_bag else dispensing.PlaceboPreparation(self.media_id),
            )
        with self.db.session() as s:
            dispensing.second_verify(
                s, self.cast.who("pharmacist2"), self.cast.creds("pharmacist2"), prep.dispensing_id
            )
        return prep.dispensing_id

    def bedside_check(self, visit_id: int) -> int:
        """The clinician's identity check of a dispensed visit, with what the ward's view of
        the visit shows (subject code, date of birth, kit code); returns the infusion id."""
        nurse = self.cast.who("clinician")
        with self.db.reader() as s:
            view = ward.ward_visit(s, nurse, visit_id)
        assert view.kit_code is not None
        with self.db.session() as s:
            return ward.bedside_check(
                s,
                nurse,
                visit_id=visit_id,
                subject_code=view.subject_code,
                date_of_birth=view.date_of_birth,
                kit_code=view.kit_code,
            )

    def infuse(self, visit_id: int, *, reactions: str = "", grade: int | None = None) -> int:
        """Bedside check, start, end (signed); returns the infusion id."""
        nurse = self.cast.who("clinician")
        infusion_id = self.bedside_check(visit_id)
        with self.db.session() as s:
            ward.start_infusion(s, nurse, infusion_id, utcnow())
        with self.db.session() as s:
            ward.end_infusion(
                s,
                nurse,
                self.cast.creds("clinician"),
                infusion_id,
                ended_at=utcnow(),
                reactions=reactions,
                reaction_grade=grade,
            )
        return infusion_id
