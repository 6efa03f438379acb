"""Bulk steps of the batch record: subject, harvest with its DIN, lot, passages, counts,
formulation and custody (QC and the QA decision: :mod:`lottrack.demo.bulk.release`).

Each function mirrors the service of the same name (``subjects.register_subject``,
``harvests.record_harvest``, ``expansion.record_passage`` …): the same rows, the same
flushes (one :meth:`Batch.step` per flush), the same reasons on updates, and the same
checks on the values (through :class:`~lottrack.demo.bulk.facility.Facility`).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from lottrack.demo.bulk.batch import Batch
from lottrack.demo.bulk.facility import Facility, Person, require
from lottrack.facility.dins import MAX_SEQUENCE
from lottrack.facility.sites import site_zone, validate_product_code
from lottrack.kernel import calc
from lottrack.kernel.isbt128 import format_din
from lottrack.kernel.units import Dim, format_number
from lottrack.manufacturing import lots
from lottrack.manufacturing.bag_codes import DIVISION_LETTERS, KIT_CODE_LENGTH, KIT_CODE_PREFIX
from lottrack.manufacturing.counts import FINAL_PRODUCT, HEMOCYTOMETER, PASSAGE_HARVEST
from lottrack.manufacturing.expansion import LOT_PREFIX
from lottrack.manufacturing.formulation import CRYOPRESERVED_SHELF_LIFE, MSC, _temperature

Row = dict[str, Any]
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)

#: Per passage: cells seeded, surface area, vessels, hours in culture, cells harvested
#: (one is picked). Population doublings come out at 2–3 per passage, about 13 in all.
GROWTH: tuple[tuple[str, str, str, int, tuple[str, ...]], ...] = (
    ("5e6 cells", "175 cm²", "T175 flask", 96, ("3.6e7 cells", "4.0e7 cells", "4.4e7 cells")),
    ("1.0e7 cells", "636 cm²", "CellSTACK 1", 72, ("7.2e7 cells", "8.0e7 cells", "8.8e7 cells")),
    ("2.0e7 cells", "1272 cm²", "CellSTACK 2", 60, ("9.0e7 cells", "1.0e8 cells", "1.2e8 cells")),
    ("2.0e7 cells", "1272 cm²", "CellSTACK 2", 60, ("8.0e7 cells", "9.6e7 cells", "1.1e8 cells")),
    ("3.0e7 cells", "1908 cm²", "CellSTACK 3", 60, ("1.3e8 cells", "1.5e8 cells", "1.8e8 cells")),
)
VIABILITIES = ("93 %", "94 %", "95 %", "96 %", "97 %")
SUSPENSION_ML = 20
"""Volume a passage harvest is resuspended in for its count."""
Replicate = tuple[int, int, int, float]
"""Hemocytometer replicate: live, dead, large squares, dilution."""


@dataclass
class Reagents:
    """Released reagent lots by kind; ``usable`` picks the one for a day."""

    by_quarter: dict[tuple[int, int], dict[str, Row]]

    def usable(self, fac: Facility, kind: str, on: dt.datetime) -> Row:
        """The reagent lot of ``kind`` in use on ``on`` (released, not expired that day)."""
        local = on.astimezone(site_zone(fac.site)).date()
        lot = self.by_quarter[(local.year, (local.month - 1) // 3)][kind]
        require(
            lot["status"] == "released" and lot["expiry"] >= local,
            f"reagent lot {lot['lot_number']} is not usable on {local}",
        )
        return lot


@dataclass
class Made:
    """What a subject's manufacturing produced (for the steps that follow)."""

    subject: Row
    harvest: Row
    lot: Row
    tech: Person
    last_harvest: dt.datetime | None = None
    count: Row | None = None
    bag: Row | None = None
    qc: tuple[Row, ...] = ()


def register(b: Batch, fac: Facility, rng: random.Random, number: int, at: dt.datetime) -> Row:
    """``subjects.register_subject``: code, initials, date of birth, chain-of-identity id."""
    nurse = fac.who("clinician")
    require(number < 1_000_000, f"subject number {number} does not fit a subject code")
    born = dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(20_000))
    b.step(nurse.actor)
    return b.add(
        "subject",
        {
            "code": f"TLS-{number:03d}",
            "date_of_birth": born,
            "site_id": fac.site.id,
            "initials": "".join(rng.choice("ABCDEFGHJKLMNPRSTVW") for _ in range(2)),
            "coi_id": fac.coi(),
            "created_at": fac.moment(at, "Registered at"),
            "created_by": nurse.id,
        },
    )


def harvest_and_lot(
    b: Batch, fac: Facility, rng: random.Random, subject: Row, collected: dt.datetime, tech: Person
) -> Made:
    """``harvests.record_harvest`` (with its DIN) and ``expansion.start_lot``."""
    birth = dt.datetime.combine(subject["date_of_birth"], dt.time(), dt.UTC)
    collected = fac.moment(collected, "Collected at", after=birth, after_what="birth")
    recorded = collected + 15 * MINUTE
    volume = fac.typed(f"{rng.choice(range(80, 101, 5))} mL", Dim.VOLUME)
    tnc = fac.typed(rng.choice(("1.1e9 cells", "1.4e9 cells", "1.8e9 cells")), Dim.CELLS)
    year = recorded.year % 100
    sequence = b.din_sequence(fac.site.fin, year)
    require(sequence <= MAX_SEQUENCE, f"no DIN sequence left for 20{year:02d}")
    din = format_din(fac.site.fin, year, sequence)
    b.step(tech.actor)
    b.add(
        "issued_din",
        {
            "din": din,
            "fin": fac.site.fin,
            "year": year,
            "sequence": sequence,
            "purpose": "harvest",
            "issued_at": recorded,
            "issued_by": tech.id,
        },
    )
    b.step(tech.actor)
    harvest = b.add(
        "harvest",
        {
            "subject_id": subject["id"],
            "din": din,
            "collected_at": collected,
            "volume_ml": volume.value,
            "volume_text": volume.text,
            "anticoagulant": "heparin",
            "aspiration_site": "posterior iliac crest",
            "tnc_cells_total": tnc.value,
            "tnc_text": tnc.text,
            "operator_id": tech.id,
            "created_at": recorded,
        },
    )
    b.step(tech.actor)
    lot = b.add(
        "lot",
        {
            "lot_number": LOT_PREFIX + din,
            "harvest_id": harvest["id"],
            "subject_id": subject["id"],
            "spec_id": fac.spec.id,
            "status": lots.IN_PROCESS,
            "created_at": recorded + 5 * MINUTE,
            "created_by": tech.id,
        },
    )
    return Made(subject, harvest, lot, tech)


def passages(
    b: Batch,
    fac: Facility,
    rng: random.Random,
    made: Made,
    reagents: Reagents,
    start: dt.datetime,
    *,
    harvested: int,
    seeded_only: int = 0,
) -> None:
    """``expansion.record_passage`` / ``record_passage_harvest`` for P0 … and a
    passage-harvest count of each; ``seeded_only`` more passages are still in culture."""
    require(
        harvested + seeded_only - 1 <= fac.spec.max_passage,
        f"specification v{fac.spec.version} allows passages up to P{fac.spec.max_passage}",
    )
    tech, lot = made.tech, made.lot
    floor, at = made.harvest["collected_at"], start
    for number in range(harvested + seeded_only):
        seeded_text, area_text, vessels, hours, harvests = GROWTH[min(number, len(GROWTH) - 1)]
        seeded = fac.typed(seeded_text, Dim.CELLS)
        area = fac.typed(area_text, Dim.AREA)
        at = fac.moment(at, "Seeded at", after=floor, after_what="the previous step")
        used = [
            reagents.usable(fac, kind, at)["id"]
            for kind in ("medium", "supplement", "dissociation")
        ]
        b.step(tech.actor)
        passage = b.add(
            "passage",
            {
                "lot_id": lot["id"],
                "number": number,
                "seeded_at": at,
                "cells_seeded": seeded.value,
                "cells_seeded_text": seeded.text,
                "area_cm2": area.value,
                "area_text": area.text,
                "vessels": vessels,
                "recorded_by": tech.id,
            },
        )
        b.step(tech.actor)
        for reagent_id in used:
            b.add("passage_reagent", {"passage_id": passage["id"], "reagent_lot_id": reagent_id})
        if number >= harvested:
            continue
        done = fac.moment(
            at + hours * HOUR + rng.randint(-240, 240) * MINUTE,
            "Harvested at",
            after=at,
            after_what="seeding",
            strictly=True,
        )
        cells = fac.typed(rng.choice(harvests), Dim.CELLS)
        viability = fac.typed(rng.choice(VIABILITIES), Dim.FRACTION)
        calc.passage_growth(seeded.value, cells.value, at, done, area.value)  # validates
        b.step(tech.actor)
        b.update(
            "passage",
            passage,
            f"harvest of P{number} recorded",
            harvested_at=done,
            cells_harvested=cells.value,
            cells_harvested_text=cells.text,
            viability_pct=viability.value,
            harvest_recorded_by=tech.id,
        )
        # Triplicate count of the harvest resuspended in SUSPENSION_ML, consistent with
        # the cells and viability recorded for the passage.
        live = max(1, round(cells.value / (SUSPENSION_ML * 1e4 * 10) * 4))
        dead = max(1, round(live * (100 - viability.value) / viability.value))
        spread = max(1, live // 25)
        count(
            b,
            fac,
            made,
            PASSAGE_HARVEST,
            done + 15 * MINUTE,
            [(live + rng.randint(-spread, spread), dead, 4, 10.0) for _ in range(3)],
            passage_id=passage["id"],
        )
        floor = done
        at = done + 30 * MINUTE
    made.last_harvest = floor if harvested else None


def count(
    b: Batch,
    fac: Facility,
    made: Made,
    target: str,
    at: dt.datetime,
    replicates: Sequence[Replicate],
    *,
    passage_id: int | None = None,
) -> Row:
    """``counts.record_count`` of hemocytometer replicates (mean viable concentration,
    viability of the means, replicate CV, recount flag)."""
    require(made.lot["status"] == lots.IN_PROCESS, "counts are made while a lot is in process")
    require(
        len(replicates) >= fac.spec.min_replicates,
        f"specification v{fac.spec.version} needs {fac.spec.min_replicates} replicates",
    )
    readings = [_replicate(*r) for r in replicates]
    viable = calc.replicate_stats([r.viable_per_ml for r in readings], "Viable concentration")
    total = calc.replicate_stats([r.total_per_ml for r in readings], "Total concentration")
    viability = calc.viability_percent(viable.mean, max(total.mean - viable.mean, 0.0))
    cv = viable.cv_percent if viable.cv_percent is not None else 0.0
    b.step(made.tech.actor)
    row = b.add(
        "cell_count",
        {
            "lot_id": made.lot["id"],
            "target": target,
            "passage_id": passage_id,
            "method": HEMOCYTOMETER,
            "counted_at": at,
            "counted_by": made.tech.id,
            "mean_viable_per_ml": viable.mean,
            "viability_pct": viability,
            "cv_pct": cv,
            "recount_required": cv > fac.spec.max_cv_pct,
        },
    )
    b.step(made.tech.actor)
    for position, r in enumerate(readings, start=1):
        b.add(
            "count_replicate",
            {
                "count_id": row["id"],
                "position": position,
                "live": r.live,
                "dead": r.dead,
                "squares": r.squares,
                "dilution": r.dilution,
                "viable_per_ml": r.viable_per_ml,
                "viability_pct": r.viability_percent,
                "entered_text": f"live {r.live}, dead {r.dead}, {r.squares} squares, dilution "
                f"{format_number(r.dilution, sig=6)}",
            },
        )
    return row


_replicate = cache(calc.count_replicate)
"""calc.count_replicate, memoised: its exact arithmetic is slow and readings repeat."""


def final_count(
    b: Batch,
    fac: Facility,
    rng: random.Random,
    made: Made,
    at: dt.datetime,
    *,
    spread: bool = False,
) -> Row:
    """The final-product count (``spread`` gives a CV over 10 %: a recount is needed)."""
    assert made.last_harvest is not None
    at = fac.moment(at, "Counted at", after=made.last_harvest, after_what="the last harvest")
    if spread:
        reps: list[Replicate] = [(60, 3, 4, 10.0), (90, 4, 4, 10.0), (76, 4, 4, 10.0)]
    else:
        live = rng.randint(92, 108)
        reps = [(live + rng.randint(-6, 6), rng.randint(3, 6), 4, 10.0) for _ in range(3)]
    made.count = count(b, fac, made, FINAL_PRODUCT, at, reps)
    return made.count


def formulate(
    b: Batch,
    fac: Facility,
    made: Made,
    at: dt.datetime,
    volume_ml: int,
    *,
    cryopreserve: bool = False,
) -> Row:
    """``formulation.formulate`` into one bag; the lot then awaits release."""
    lot, c = made.lot, made.count
    require(c is not None and not c["recount_required"], "formulation needs a usable count")
    assert c is not None and made.last_harvest is not None
    require(c["counted_at"] >= made.last_harvest, "the count predates the last harvest")
    at = fac.moment(at, "Formulated at", after=made.last_harvest, after_what="the last harvest")
    volume = fac.typed(f"{volume_ml} mL", Dim.VOLUME)
    concentration = c["mean_viable_per_ml"] * 100.0 / c["viability_pct"]
    viable = calc.viable_cells_in_bag(concentration, volume.value, c["viability_pct"])
    base = validate_product_code(
        fac.site.product_code_msc, "MSC product code of the site", autologous=True
    )[:6]
    division = f"{secrets.choice(DIVISION_LETTERS)}0"  # random, as the services draw it
    life = (
        CRYOPRESERVED_SHELF_LIFE
        if cryopreserve
        else dt.timedelta(hours=fac.spec.fresh_shelf_life_hours)
    )
    b.step(made.tech.actor)
    made.bag = b.add(
        "product_unit",
        {
            "kind": MSC,
            "subject_id": lot["subject_id"],
            "lot_id": lot["id"],
            "din": made.harvest["din"],
            "product_code": base + division,
            "division": division,
            "kit_code": fac.random_code(KIT_CODE_PREFIX, KIT_CODE_LENGTH),
            "volume_ml": volume.value,
            "volume_text": volume.text,
            "concentration_per_ml": concentration,
            "viability_pct": c["viability_pct"],
            "viable_cells": viable,
            "formulated_at": at,
            "expires_at": at + life,
            "storage": "vapour-phase liquid nitrogen, ≤ −150 °C" if cryopreserve else "2–8 °C",
            "cryopreserved": cryopreserve,
            "created_by": made.tech.id,
        },
    )
    b.step(made.tech.actor)
    b.update(
        "lot",
        lot,
        f"formulated into 1 bag(s) from {FINAL_PRODUCT} count #{c['id']}",
        formulated_at=at,
    )
    b.step(made.tech.actor)
    b.update("lot", lot, "formulated; awaiting QA release", status=lots.AWAITING_RELEASE)
    return made.bag


def custody(
    b: Batch,
    fac: Facility,
    by: Person,
    unit: Row,
    origin: str,
    destination: str,
    at: dt.datetime,
    temperature: str,
) -> Row:
    """``formulation.record_custody``: a move of a bag, with the temperature as typed."""
    moves = b.rows["custody_event"]
    previous = next((m for m in reversed(moves) if m["unit_id"] == unit["id"]), None)
    require(
        previous is None or previous["to_location"] == origin,
        f"bag {unit['kit_code']} is not at {origin}",
    )
    floor = previous["at"] if previous else unit["formulated_at"]
    at = fac.moment(at, "At", after=floor, after_what="the previous move")
    degrees, text = _temperature(fac.site, temperature)
    b.step(by.actor)
    return b.add(
        "custody_event",
        {
            "unit_id": unit["id"],
            "from_location": origin,
            "to_location": destination,
            "at": at,
            "temperature_c": degrees,
            "temperature_text": text,
            "by_id": by.id,
        },
    )
