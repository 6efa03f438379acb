"""The twelve journeys of one bulk unit: the demo trial's subjects (``lottrack.demo.trial``),
with values drawn at random and, for journeys that are finished, times spread back over
:data:`HISTORY` so a scaled database holds a trial's history rather than a dozen copies
of one afternoon.

========  ======================================================  ====================
journey   lot / visits                                            when
========  ======================================================  ====================
1         in expansion: P0–P2 harvested, P3 in culture            now
2         awaiting release, conforming                            now
3         awaiting release, out of specification (viability)      now
4         quarantined by QA                                       last days
5         released; MSC-first; both periods infused               history (> 24 weeks)
6         rejected (sterility)                                    history
7         released under exception (CD105)                        history
8         released; placebo-first; period 1 at the bedside        now
9         released; MSC-first; period 1 due today                 now
10        released; placebo-first; period 1 infused, period 2     24 weeks ago
          due
11        awaiting release, mycoplasma and endotoxin missing      now
12        in process; final count needs a recount                 now
========  ======================================================  ====================

Every journey's anchor is drawn first and the journeys are written in the order their
lots started (:func:`plan`), so ids and DIN sequence numbers follow time, as they do in a
database filled day by day.

Bags of placebo-first subjects are cryopreserved (their MSC period is 24 weeks after the
lot was made); the others are fresh. Beyond the demo trial, every subject is weighed at
screening, every passage harvest is counted (in triplicate, like the final product), bags
move with a chain of custody, and the rejected lot's sterility result is retested.

Quality records as the services keep them: every out-of-specification result opens an
investigation (3: open; 6: the sterility retest in it, closed by QA, no laboratory error;
7: closed by QA before the exceptional release); 4 is quarantined with its incubator
excursion open as an unplanned deviation; 8 and 9 (one of each sequence) carry the same
planned deviation, closed by QA before release.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from lottrack.demo.bulk import manufacturing as mfg
from lottrack.demo.bulk import pharmacy as ph
from lottrack.demo.bulk import quality
from lottrack.demo.bulk import release as rel
from lottrack.demo.bulk.batch import Batch
from lottrack.demo.bulk.facility import Facility
from lottrack.demo.bulk.manufacturing import HOUR, MINUTE, Made, Reagents, Row
from lottrack.manufacturing import lots
from lottrack.trial.allocation import MSC, MSC_FIRST, PLACEBO_FIRST, arm_for

DAY = dt.timedelta(days=1)
HISTORY = dt.timedelta(days=540)
"""How far back finished journeys reach."""
QC_CHOICES: dict[str, tuple[str, ...]] = {
    "viability_fresh": ("91 %", "93 %", "94 %", "95 %", "96 %"),
    "cd73": ("98.2 %", "99.1 %", "99.5 %"),
    "cd90": ("97.6 %", "98.7 %", "99.2 %"),
    "cd105": ("96.4 %", "97.9 %", "98.8 %"),
    "cd45": ("0.2 %", "0.4 %", "0.9 %"),
    "cd34": ("0.1 %", "0.2 %", "0.5 %"),
    "cd14": ("0.3 %", "0.6 %"),
    "cd19": ("0.1 %", "0.2 %"),
    "hla_dr": ("0.5 %", "1.1 %"),
    "sterility": ("no growth",),
    "mycoplasma": ("not detected",),
    "endotoxin": ("0.12 EU/mL", "0.25 EU/mL", "0.4 EU/mL"),
    "karyotype": ("46,XX normal", "46,XY normal"),
    "potency": ("55 % inhibition at 1:10", "62 % inhibition at 1:10", "71 % inhibition at 1:10"),
}
"""Conforming QC results (specification v1), as technicians type them."""
CLEANROOM, PHARMACY, WARD = "Cleanroom B", "Pharmacy", "Ward 3B"
STORE_COLD = ("QC hold refrigerator", "5 °C")
STORE_FROZEN = ("LN2 tank 2", "-160 °C")
"""Where bags go (chain of custody) and at what temperature."""


@dataclass
class Trip:
    """One subject's journey being built."""

    b: Batch
    fac: Facility
    rng: random.Random
    reagents: Reagents
    now: dt.datetime
    number: int

    def minutes(self, low: int, high: int) -> dt.timedelta:
        """A random whole number of minutes."""
        return self.rng.randint(low, high) * MINUTE

    def made_lot(
        self,
        formulated: dt.datetime,
        *,
        cryopreserve: bool = False,
        qc: dict[str, str | None] | None = None,
    ) -> tuple[Made, Row]:
        """Register → harvest → P0–P4 with counts → weight → final count → one bag → QC
        (``Scenario.made_lot``); the lot awaits release. ``qc`` overrides results (None
        leaves one out)."""
        collected = formulated - 16 * DAY - self.minutes(0, 300)
        made = self.harvested(collected)
        mfg.passages(
            self.b, self.fac, self.rng, made, self.reagents, collected + 3 * HOUR, harvested=5
        )
        kg = self.rng.randrange(104, 211) / 2
        scale = ph.weight(self.b, self.fac, made.subject, kg, formulated - DAY)
        count = mfg.final_count(self.b, self.fac, self.rng, made, formulated - HOUR)
        volume = round(1.5e6 * kg / count["mean_viable_per_ml"])  # mid-window dose
        bag = mfg.formulate(self.b, self.fac, made, formulated, volume, cryopreserve=cryopreserve)
        store, temperature = STORE_FROZEN if cryopreserve else STORE_COLD
        mfg.custody(
            self.b,
            self.fac,
            made.tech,
            bag,
            CLEANROOM,
            store,
            formulated + 15 * MINUTE,
            temperature,
        )
        results = {code: self.rng.choice(options) for code, options in QC_CHOICES.items()}
        chosen = {k: v for k, v in {**results, **(qc or {})}.items() if v is not None}
        rel.qc(self.b, self.fac, made, formulated + 30 * MINUTE, chosen, kg)
        return made, scale

    def harvested(self, collected: dt.datetime) -> Made:
        """A registered subject (weighed at screening), their harvest and its lot."""
        registered = collected - self.rng.randint(2, 30) * DAY
        subject = mfg.register(self.b, self.fac, self.rng, self.number, registered)
        ph.weight(
            self.b, self.fac, subject, self.rng.randrange(104, 211) / 2, registered + 20 * MINUTE
        )
        tech = self.fac.who(self.rng.choice(("technician", "technician2")))
        return mfg.harvest_and_lot(self.b, self.fac, self.rng, subject, collected, tech)

    def planned_deviation(self, made: Made, formulated: dt.datetime) -> None:
        """A planned deviation opened by the lab and closed by QA before release: the
        same on lots of either sequence (journeys 8 and 9), so it tells nothing of the
        arm."""
        dev = quality.open_deviation(
            self.b,
            made.tech,
            made.lot,
            formulated + 35 * MINUTE,
            planned=True,
            description="Formulation started 2 h after the planned time: cleanroom B was "
            "booked for maintenance.",
            impact="None expected: the cells were held at 2–8 °C within the validated hold time.",
            corrective_action="Maintenance is booked outside production days.",
        )
        quality.close_deviation(
            self.b,
            self.fac,
            dev,
            formulated + 45 * MINUTE,
            "Hold time within validated limits; no impact on the product.",
        )

    def release(self, made: Made, at: dt.datetime) -> None:
        """QA releases the lot (``Scenario.release``)."""
        rel.decide(
            self.b, self.fac, made, lots.RELEASED, at, "batch record reviewed; all results conform"
        )

    def period(
        self,
        made: Made,
        visit: Row,
        sequence: str,
        scale: Row,
        at: dt.datetime,
        *,
        infuse: bool = True,
        reactions: str = "",
        grade: int | None = None,
    ) -> None:
        """Dispense (MSC bag or placebo, by the allocation), second-verify, and infuse."""
        media = None
        if arm_for(sequence, visit["period"]) != MSC:
            media = self.reagents.usable(self.fac, "suspension-media", at)
        else:
            assert made.bag is not None
            mfg.custody(
                self.b,
                self.fac,
                self.fac.who("pharmacist"),
                made.bag,
                STORE_COLD[0],
                PHARMACY,
                at - 10 * MINUTE,
                "5 °C",
            )
        done = ph.dispense(self.b, self.fac, made, visit, sequence, scale, at, placebo_media=media)
        ph.second_verify(self.b, self.fac, made, done, at + 8 * MINUTE, media)
        mfg.custody(
            self.b,
            self.fac,
            self.fac.who("clinician"),
            done.unit,
            PHARMACY,
            WARD,
            at + 12 * MINUTE,
            "6 °C",
        )
        if infuse:  # the bedside check before the use-by (30 min after dispensing)
            ph.infuse(self.b, self.fac, done, at + 18 * MINUTE, reactions=reactions, grade=grade)


# Each journey is built from an anchor drawn beforehand (:func:`plan`): the collection of
# the bone marrow for lots still in expansion, the formulation for the others.


def _in_expansion(t: Trip, collected: dt.datetime) -> None:
    made = t.harvested(collected)
    mfg.passages(
        t.b, t.fac, t.rng, made, t.reagents, collected + 3 * HOUR, harvested=3, seeded_only=1
    )


def _awaiting(t: Trip, formulated: dt.datetime) -> None:
    t.made_lot(formulated)


def _out_of_spec(t: Trip, formulated: dt.datetime) -> None:
    t.made_lot(formulated, qc={"viability_fresh": "75 %"})


def _quarantined(t: Trip, formulated: dt.datetime) -> None:
    made, _ = t.made_lot(formulated)
    quality.open_deviation(
        t.b,
        made.tech,
        made.lot,
        formulated + 40 * MINUTE,
        planned=False,
        description="Incubator 2 read 39.4 °C for 40 minutes during the P4 culture.",
        impact="Under assessment: the cells may have been stressed.",
        corrective_action="Incubator 2 taken out of service; its alarm threshold checked.",
    )
    rel.decide(
        t.b,
        t.fac,
        made,
        lots.QUARANTINED,
        formulated + 50 * MINUTE,
        "incubator temperature excursion under investigation",
    )


def _both_infused(t: Trip, formulated: dt.datetime) -> None:
    made, scale = t.made_lot(formulated)
    t.release(made, formulated + 50 * MINUTE)
    week0 = formulated.date()
    v1, v2 = ph.enrol(t.b, t.fac, made.subject, MSC_FIRST, week0, formulated + 55 * MINUTE)
    t.period(made, v1, MSC_FIRST, scale, formulated + 70 * MINUTE)
    day2 = dt.datetime.combine(v2["planned_date"], dt.time(8), dt.UTC) + t.minutes(0, 120)
    kg = scale["weight_kg"] + t.rng.choice((-1.5, -0.5, 0.0, 0.5, 1.0))
    scale2 = ph.weight(t.b, t.fac, made.subject, kg, day2 - DAY)
    t.period(made, v2, MSC_FIRST, scale2, day2, reactions="transient low-grade fever", grade=1)


def _rejected(t: Trip, formulated: dt.datetime) -> None:
    growth = "growth: S. epidermidis"
    made, scale = t.made_lot(formulated, qc={"sterility": growth})
    sterility = t.fac.spec_items["sterility"].id
    first = next(r for r in made.qc if r["spec_item_id"] == sterility)
    rel.qc(
        t.b,
        t.fac,
        made,
        formulated + 3 * DAY,
        {"sterility": growth},
        scale["weight_kg"],
        retest_of=first,
        reason="OOS investigation: culture of the retained sample",
    )
    quality.close_investigation(
        t.b,
        t.fac,
        made.lot,
        formulated + 3 * DAY + HOUR,
        conclusion="Growth confirmed on the retained sample; no assignable laboratory error.",
    )
    rel.decide(
        t.b,
        t.fac,
        made,
        lots.REJECTED,
        formulated + 3 * DAY + 2 * HOUR,
        "sterility failure confirmed on retest",
    )


def _exceptional(t: Trip, formulated: dt.datetime) -> None:
    made, _ = t.made_lot(formulated, qc={"cd105": "93.5 %"})
    quality.close_investigation(
        t.b,
        t.fac,
        made.lot,
        formulated + 48 * MINUTE,
        conclusion="Assay controls and instrument within limits; no "
        "assignable laboratory error. CD105 93.5 % stands.",
    )
    rel.decide(
        t.b,
        t.fac,
        made,
        lots.RELEASED_EXCEPTIONAL,
        formulated + 50 * MINUTE,
        "CD105 marginally below specification; clinical need",
        rel.Exceptional(
            physician_request="Dr. M. Weber, written request of today: no alternative "
            "treatment; proceed with the subject's own cells.",
            risk_evaluation="CD105 93.5 % against ≥ 95 %; identity otherwise confirmed "
            "(CD73, CD90 conform); risk judged low.",
            physician_acceptance="Dr. M. Weber accepted the risk evaluation in writing.",
        ),
    )


def _at_bedside(t: Trip, formulated: dt.datetime) -> None:
    made, scale = t.made_lot(formulated, cryopreserve=True)
    t.planned_deviation(made, formulated)
    t.release(made, formulated + 50 * MINUTE)
    v1, _ = ph.enrol(
        t.b, t.fac, made.subject, PLACEBO_FIRST, t.now.date(), formulated + 55 * MINUTE
    )
    t.period(made, v1, PLACEBO_FIRST, scale, formulated + 70 * MINUTE, infuse=False)


def _due_today(t: Trip, formulated: dt.datetime) -> None:
    made, _ = t.made_lot(formulated)
    t.planned_deviation(made, formulated)
    t.release(made, formulated + 50 * MINUTE)
    ph.enrol(t.b, t.fac, made.subject, MSC_FIRST, t.now.date(), formulated + 55 * MINUTE)


def _second_period_due(t: Trip, formulated: dt.datetime) -> None:
    made, scale = t.made_lot(formulated, cryopreserve=True)
    t.release(made, formulated + 50 * MINUTE)
    week0 = formulated.date()
    v1, _ = ph.enrol(t.b, t.fac, made.subject, PLACEBO_FIRST, week0, formulated + 55 * MINUTE)
    t.period(made, v1, PLACEBO_FIRST, scale, formulated + 70 * MINUTE)


def _results_missing(t: Trip, formulated: dt.datetime) -> None:
    t.made_lot(formulated, qc={"mycoplasma": None, "endotoxin": None})


def _recount(t: Trip, collected: dt.datetime) -> None:
    made = t.harvested(collected)
    mfg.passages(t.b, t.fac, t.rng, made, t.reagents, collected + 3 * HOUR, harvested=5)
    mfg.final_count(t.b, t.fac, t.rng, made, t.now - 2 * HOUR, spread=True)


Anchor = Callable[[random.Random, dt.datetime, int], dt.datetime]
"""Draws a journey's anchor from (random numbers, now, weeks to period 2)."""


def _ago(low: dt.timedelta, high: dt.timedelta) -> Anchor:
    def draw(rng: random.Random, now: dt.datetime, _weeks: int) -> dt.datetime:
        return now - low - rng.randint(0, int((high - low) / MINUTE)) * MINUTE

    return draw


def _period2_due(rng: random.Random, now: dt.datetime, weeks: int) -> dt.datetime:
    week0 = now.date() - dt.timedelta(weeks=weeks, days=rng.randint(-3, 3))
    return dt.datetime.combine(week0, dt.time(6), dt.UTC) + rng.randint(0, 120) * MINUTE


@dataclass(frozen=True)
class Journey:
    """One subject of the demo trial: how to draw its anchor and how to build it."""

    anchor: Anchor
    lead: dt.timedelta
    """From the start of the lot (the harvest) to the anchor."""
    build: Callable[[Trip, dt.datetime], None]


_MADE = 16 * DAY  # harvest to formulation, P0–P4
JOURNEYS: tuple[Journey, ...] = (
    Journey(_ago(11 * DAY, 11 * DAY + 12 * HOUR), dt.timedelta(0), _in_expansion),
    Journey(_ago(HOUR, 6 * HOUR), _MADE, _awaiting),
    Journey(_ago(HOUR, 6 * HOUR), _MADE, _out_of_spec),
    Journey(_ago(HOUR, 5 * DAY), _MADE, _quarantined),
    Journey(_ago(170 * DAY, HISTORY), _MADE, _both_infused),
    Journey(_ago(4 * DAY, HISTORY), _MADE, _rejected),
    Journey(_ago(2 * DAY, HISTORY), _MADE, _exceptional),
    Journey(_ago(90 * MINUTE, 5 * HOUR), _MADE, _at_bedside),
    Journey(_ago(HOUR, 6 * HOUR), _MADE, _due_today),
    Journey(_period2_due, _MADE, _second_period_due),
    Journey(_ago(HOUR, 6 * HOUR), _MADE, _results_missing),
    Journey(_ago(16 * DAY, 16 * DAY + 10 * HOUR), dt.timedelta(0), _recount),
)
"""One unit: the demo trial's twelve subjects, in the demo's order."""


def plan(
    units: int, rng: random.Random, now: dt.datetime, period2_weeks: int
) -> list[tuple[Journey, dt.datetime]]:
    """``units`` × the twelve journeys with their anchors, ordered by the start of their
    lot, so that ids follow time as they do in a database filled day by day."""
    drawn = [(j.anchor(rng, now, period2_weeks), j) for _ in range(units) for j in JOURNEYS]
    drawn.sort(key=lambda a: a[0] - a[1].lead)
    return [(j, anchor) for anchor, j in drawn]
