"""Bad input everywhere, the services test_bad_input.py does not reach (issue #8 item 4):
reagent lots, passages, counts, formulation, sites, allocation import, visits, the bedside
check, infusion reactions, disposition and correction reasons.

Every example either stores what was typed faithfully (read back from the database) or is
refused with ValidationError, and a refusal leaves the database as it was: the same rows
and the same audit events (a bedside mismatch is the one refusal that is meant to leave an
audit event behind). Services that move a record on (a formulation, a release, the end of
an infusion) are run in a write session that is rolled back once the rows have been read
back after the flush, so that every example starts from the same state. The audit trail is
verified after each test. Run on both backends.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from lottrack.demo.scenario import Scenario
from lottrack.facility import sites
from lottrack.kernel.errors import ValidationError
from lottrack.kernel.inputs import clean_paragraphs
from lottrack.manufacturing import counts, expansion, formulation, lots, qc, reagents
from lottrack.manufacturing.counts import AutomatedReplicate, HemocytometerReplicate
from lottrack.records.permissions import CurrentUser
from lottrack.release import disposition
from lottrack.storage.db import Database
from lottrack.storage.models import (
    Allocation,
    AuditEvent,
    CellCount,
    CountReplicate,
    Disposition,
    Infusion,
    Passage,
    ProductUnit,
    QCResult,
    ReagentLot,
    Site,
    Subject,
    Unblinding,
    Visit,
    utcnow,
)
from lottrack.trial import allocation, visits, ward
from tests.conftest import verify_ok
from tests.factories import make_scenario
from tests.storage.test_bad_input import NASTY
from tests.storage.test_bad_input import SETTINGS as _BASE

SETTINGS = settings(_BASE, max_examples=30)

LONG = st.sampled_from(
    [5, 63, 64, 65, 199, 200, 201, 500, 501, 1999, 2000, 2001, 4000, 4001, 20_000]
).flatmap(lambda n: st.sampled_from(["x" * n, ("word " * n)[:n], " " + "y" * n + " "]))
TEXT = st.one_of(
    NASTY,
    LONG,
    st.sampled_from(
        [
            "it's",
            'say "no"',
            "\\",
            "%s %d {0}",
            "<b>bold</b>",
            "\x1b[31mred",
            "\u200bzero-width",
            "\ufeffbom",
            "a\u2028b",
            "e\u0301",
            "ﬁ",
            "İ",
            "ß",
            "\U0010ffff",
            "\x7f",
            "\x85",
        ]
    ),
)
PARAGRAPHS = st.one_of(
    TEXT,
    st.lists(TEXT, max_size=4).map("\n".join),
    st.sampled_from(["line one\nline two", "a\r\nb", "\n\n  \n", "\n".join(["z" * 100] * 30)]),
)
NUMBER = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            0,
            1,
            -1,
            2**31 - 1,
            2**31,
            2**63,
            10**400,
            10**5000,
            -(10**5000),
            5e-324,
            1e-320,
            1e308,
            math.nan,
            math.inf,
            True,
            False,
        ]
    ),
)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four, else ``bad``: examples with several fields then get
    stored often enough to check what is stored, not only what is refused."""
    return st.integers(0, 3).flatmap(lambda n: bad if n == 0 else good)


def _or(*good: str) -> st.SearchStrategy[str]:
    """A value that is usually acceptable, else hostile text."""
    return _mostly(st.sampled_from(good), TEXT)


class _Undo(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a write session to discard what the example wrote."""


def _counts(
    db: Database, models: tuple[type[SQLModel], ...], quiet_actions: tuple[str, ...]
) -> tuple[int, ...]:
    with db.reader() as s:
        events = s.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(col(AuditEvent.action).not_in(quiet_actions or ("",)))
        ).one()
        return (events, *(s.exec(select(func.count()).select_from(m)).one() for m in models))


def _attempt(
    db: Database,
    call: Callable[[Session], Any],
    check: Callable[[Session, Any], None],
    *models: type[SQLModel],
    keep: bool = False,
    quiet_actions: tuple[str, ...] = (),
) -> bool:
    """Run ``call(session)`` in one write session: True when it was stored, False when it
    was refused with ValidationError (then nothing changed: rows of ``models`` and audit
    events other than ``quiet_actions`` are counted before and after).

    When it was stored, ``check(session, result)`` reads the rows back from the database
    (after a flush, with the session's cache expired); with ``keep`` the write is then
    committed, else rolled back so that the next example starts from the same state."""
    before = _counts(db, models, quiet_actions)
    try:
        with db.session() as s:
            result = call(s)
            s.flush()
            s.expire_all()
            check(s, result)
            if not keep:
                raise _Undo
    except _Undo:
        assert _counts(db, models, quiet_actions) == before, "a rolled-back write was kept"
    except ValidationError:
        assert _counts(db, models, quiet_actions) == before, "a refusal left a partial write"
        event("refused")
        return False
    event("stored")  # --hypothesis-show-statistics shows how often each outcome was met
    return True


def _cleaned(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------- fixtures


@dataclass
class Made:
    """The records a test needs, made once per test through the services."""

    sc: Scenario
    subject: int = 0
    lot: int = 0
    passage: int = 0
    bag: int = 0
    visit: int = 0
    infusion: int = 0
    qc_result: int = 0

    def __repr__(self) -> str:  # keeps Hypothesis' failure reports short
        return f"Made(lot={self.lot}, passage={self.passage}, bag={self.bag})"


@pytest.fixture
def sc(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> Iterator[Scenario]:
    scenario = make_scenario(db, admin, make_user)
    yield scenario
    verify_ok(db)  # whatever the examples did, the trail still verifies


DOB = dt.date(1970, 1, 1)


def _lot_in_process(sc: Scenario, *, passages: int) -> Made:
    subject = sc.subject("TLS-900", DOB)
    lot = sc.harvest_and_lot(subject, utcnow() - dt.timedelta(days=12))
    made = Made(sc, subject, lot)
    if passages:
        sc.passages(lot, utcnow() - dt.timedelta(days=12) + dt.timedelta(hours=2), passages)
        with sc.db.reader() as s:
            last = lots.passages_of(s, lot)[-1]
        assert last.id is not None
        made.passage = last.id
    return made


def _awaiting_release(sc: Scenario) -> Made:
    subject = sc.subject("TLS-901", DOB)
    lot, bag = sc.made_lot(subject)
    return Made(sc, subject, lot, bag=bag)


def _dispensed(sc: Scenario) -> Made:
    made = _awaiting_release(sc)
    sc.release(made.lot)
    v1, _ = sc.enrol(made.subject, allocation.MSC_FIRST, utcnow().date())
    sc.dispense(v1, msc_bag=made.bag)
    made.visit = v1
    return made


@pytest.fixture
def lot0(sc: Scenario) -> Made:
    """A lot in process without passages."""
    return _lot_in_process(sc, passages=0)


@pytest.fixture
def lot1(sc: Scenario) -> Made:
    """A lot in process with P0 seeded and harvested."""
    return _lot_in_process(sc, passages=1)


@pytest.fixture
def seeded(lot0: Made) -> Made:
    """P0 seeded eleven days ago, not harvested."""
    sc = lot0.sc
    with sc.db.session() as s:
        lot0.passage = expansion.record_passage(
            s,
            sc.cast.who("technician"),
            lot_id=lot0.lot,
            number=0,
            seeded_at=utcnow() - dt.timedelta(days=11),
            cells_seeded_text="5e6 cells",
            area_text="175 cm²",
            vessels="flask",
            reagent_lot_ids=sc.reagent_ids,
        )
    return lot0


@pytest.fixture
def counted(sc: Scenario) -> Made:
    """P0-P2 harvested and a conforming final-product count: ready to formulate."""
    made = _lot_in_process(sc, passages=3)
    sc.final_count(made.lot, utcnow() - dt.timedelta(hours=2))
    return made


@pytest.fixture
def awaiting(sc: Scenario) -> Made:
    """A formulated lot with every QC result, awaiting QA."""
    return _awaiting_release(sc)


@pytest.fixture
def dispensed(sc: Scenario) -> Made:
    """A released lot's bag dispensed and second-verified for visit 1."""
    return _dispensed(sc)


@pytest.fixture
def started(dispensed: Made) -> Made:
    """The bedside check passed and the infusion started."""
    sc, nurse = dispensed.sc, dispensed.sc.cast.who("clinician")
    with sc.db.session() as s:
        dispensed.infusion = ward.bedside_check(
            s,
            nurse,
            visit_id=dispensed.visit,
            subject_code="TLS-901",
            date_of_birth=DOB,
            kit_code=_kit_code(sc.db, dispensed.bag),
        )
    with sc.db.session() as s:
        ward.start_infusion(s, nurse, dispensed.infusion, utcnow())
    return dispensed


def _kit_code(db: Database, bag: int) -> str:
    with db.reader() as s:
        unit = s.get(ProductUnit, bag)
        assert unit is not None
        return unit.kit_code


# --------------------------------------------------------------------- reagents


@given(
    name=_or("MEM alpha", "Trypsin-EDTA 0.05 %"),
    supplier=_or("Acme Bio"),
    lot_number=_or("M-2611", "lot 7"),
)
@example(name="x" * 201, supplier="Acme", lot_number="L1")
@example(name="MEM", supplier="Acme", lot_number="x" * 65)
@SETTINGS
def test_reagent_lot_registration(sc: Scenario, name: str, supplier: str, lot_number: str) -> None:
    expiry = utcnow().date() + dt.timedelta(days=30)

    def call(s: Session) -> reagents.ReagentLotInfo:
        return reagents.register_reagent_lot(
            s,
            sc.cast.who("technician"),
            name=name,
            kind="medium",
            supplier=supplier,
            lot_number=lot_number,
            expiry=expiry,
        )

    def check(s: Session, info: reagents.ReagentLotInfo) -> None:
        row = s.get(ReagentLot, info.id)
        assert row is not None
        assert (row.name, row.supplier, row.lot_number) == (
            _cleaned(name),
            _cleaned(supplier),
            _cleaned(lot_number),
        )
        assert row.status == reagents.QUARANTINE

    _attempt(sc.db, call, check, ReagentLot, keep=True)


@given(reason=TEXT)
@SETTINGS
def test_reagent_lot_rejection_reason(sc: Scenario, reason: str) -> None:
    def call(s: Session) -> None:
        reagents.reject_reagent_lot(s, sc.cast.who("qa"), sc.media_id, reason)

    def check(s: Session, _: None) -> None:
        row = s.get(ReagentLot, sc.media_id)
        assert row is not None
        assert row.status == reagents.REJECTED
        _last_reason(s, "reagent_lot", sc.media_id, endswith=_cleaned(reason))

    _attempt(sc.db, call, check, ReagentLot)


def _last_reason(s: Session, entity: str, entity_id: int, *, endswith: str) -> None:
    event = s.exec(
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(col(AuditEvent.seq).desc())
    ).first()
    assert event is not None
    assert event.reason.endswith(endswith), (event.reason[:80], endswith[:80])


# --------------------------------------------------------------------- passages


@given(
    cells=_or("5e6 cells", "5 x 10^6", "5,0e6"),
    area=_or("175 cm²", "0.0175 m²"),
    vessels=_or("CellSTACK", "T175 flask ×2"),
)
@example(cells="5e6 cells", area="175 cm²", vessels="CellSTACK")
@example(cells="1e308 cells", area="1e-320 cm²", vessels="x")
@SETTINGS
def test_passage_seeding(lot0: Made, cells: str, area: str, vessels: str) -> None:
    sc, made = lot0.sc, lot0
    seeded_at = utcnow() - dt.timedelta(days=11)

    def call(s: Session) -> int:
        return expansion.record_passage(
            s,
            sc.cast.who("technician"),
            lot_id=made.lot,
            number=0,
            seeded_at=seeded_at,
            cells_seeded_text=cells,
            area_text=area,
            vessels=vessels,
            reagent_lot_ids=sc.reagent_ids,
        )

    def check(s: Session, passage_id: int) -> None:
        row = s.get(Passage, passage_id)
        assert row is not None
        assert 0 < row.cells_seeded < math.inf
        assert 0 < row.area_cm2 < math.inf
        assert row.cells_seeded_text.strip() == cells.strip()
        assert row.area_text.strip() == area.strip()
        assert row.vessels == _cleaned(vessels)

    _attempt(sc.db, call, check, Passage)


@given(cells=_or("4e7 cells", "4.0 × 10⁷"), viability=_or("95 %", "0.95", "100 %"))
@example(cells="4e7 cells", viability="95 %")
@example(cells="4e7 cells", viability="100.0000001 %")
@SETTINGS
def test_passage_harvest(seeded: Made, cells: str, viability: str) -> None:
    sc, passage = seeded.sc, seeded.passage

    def call(s: Session) -> None:
        expansion.record_passage_harvest(
            s,
            sc.cast.who("technician"),
            passage_id=passage,
            harvested_at=utcnow() - dt.timedelta(days=7),
            cells_harvested_text=cells,
            viability_text=viability,
        )

    def check(s: Session, _: None) -> None:
        row = s.get(Passage, passage)
        assert row is not None
        assert row.cells_harvested is not None
        assert 0 < row.cells_harvested < math.inf
        assert row.viability_pct is not None
        assert 0 <= row.viability_pct <= 100
        assert row.cells_harvested_text.strip() == cells.strip()

    _attempt(sc.db, call, check, Passage)


@given(reason=TEXT, cells=st.one_of(st.none(), TEXT), vessels=st.one_of(st.none(), TEXT))
@example(reason="typo", cells="6e6 cells", vessels=None)
@SETTINGS
def test_passage_correction(
    lot1: Made, reason: str, cells: str | None, vessels: str | None
) -> None:
    sc, made = lot1.sc, lot1

    def call(s: Session) -> None:
        expansion.correct_passage(
            s,
            sc.cast.who("technician"),
            made.passage,
            reason=reason,
            cells_seeded_text=cells,
            vessels=vessels,
        )

    def check(s: Session, _: None) -> None:
        row = s.get(Passage, made.passage)
        assert row is not None
        if cells is not None:
            assert row.cells_seeded_text.strip() == cells.strip()
            assert 0 < row.cells_seeded < math.inf
        if vessels is not None:
            assert row.vessels == _cleaned(vessels)
        _last_reason(s, "passage", made.passage, endswith=_cleaned(reason))

    _attempt(sc.db, call, check, Passage)


# ----------------------------------------------------------------------- counts


@given(
    reps=st.lists(
        st.tuples(
            _mostly(st.integers(90, 110), NUMBER),
            _mostly(st.integers(0, 10), NUMBER),
            _mostly(st.integers(1, 16), NUMBER),
            _mostly(st.sampled_from([1, 2, 10, 2.5]), NUMBER),
        ),
        min_size=0,
        max_size=3,
    )
)
@example(reps=[(100, 4, 4, 10), (104, 5, 4, 10)])
@example(reps=[(2**40, 0, 1, 1), (2**40, 0, 1, 1)])
@example(reps=[(100, 4, 4, 1e300), (100, 4, 4, 1e300)])
@example(reps=[(100, 4, 1, 1e305), (100, 4, 1, 1e305)])
@example(reps=[(100, 4, 4, math.nan), (100, 4, 4, 10)])
@example(reps=[(100, 4, 4, True), (100, 4, 4, 10)])
@example(reps=[(90, 0, 1, 10**400), (90, 0, 1, 10**400)])
@example(reps=[(-(10**5000), 0, 1, 1), (90, 0, 1, 1)])
@SETTINGS
def test_hemocytometer_counts(lot1: Made, reps: list[tuple[Any, Any, Any, Any]]) -> None:
    replicates = [HemocytometerReplicate(*r) for r in reps]
    _count(lot1.sc, lot1, replicates, counts.HEMOCYTOMETER)


@given(
    reps=st.lists(
        st.tuples(_or("1.8e6/mL", "1.8 x 10^6 cells/mL"), _or("94 %", "0 %")),
        min_size=0,
        max_size=3,
    )
)
@example(reps=[("1.8e6/mL", "94 %"), ("1.9e6/mL", "95 %")])
@example(reps=[("1e308/mL", "100 %"), ("1e308/mL", "100 %")])
@example(reps=[("1e-300/mL", "0 %"), ("1e-300/mL", "0 %")])
@SETTINGS
def test_automated_counts(lot1: Made, reps: list[tuple[str, str]]) -> None:
    _count(lot1.sc, lot1, [AutomatedReplicate(c, v) for c, v in reps], counts.AUTOMATED)


def _count(sc: Scenario, made: Made, replicates: list[Any], method: str) -> None:
    def call(s: Session) -> counts.CountResult:
        return counts.record_count(
            s,
            sc.cast.who("technician"),
            lot_id=made.lot,
            target=counts.FINAL_PRODUCT,
            method=method,
            counted_at=utcnow(),
            replicates=replicates,
        )

    def check(s: Session, result: counts.CountResult) -> None:
        row = s.get(CellCount, result.id)
        assert row is not None
        assert 0 <= row.mean_viable_per_ml < math.inf
        assert 0 <= row.viability_pct <= 100
        assert 0 <= row.cv_pct < math.inf
        stored = s.exec(
            select(CountReplicate)
            .where(CountReplicate.count_id == result.id)
            .order_by(col(CountReplicate.position))
        ).all()
        assert len(stored) == len(replicates)
        for rep, typed in zip(stored, replicates, strict=True):
            if isinstance(typed, HemocytometerReplicate):
                assert (rep.live, rep.dead, rep.squares) == (typed.live, typed.dead, typed.squares)
                assert rep.dilution == typed.dilution
            assert 0 <= rep.viable_per_ml < math.inf

    _attempt(sc.db, call, check, CellCount, CountReplicate, keep=True)


@given(reason=TEXT)
@SETTINGS
def test_count_void_reason(counted: Made, reason: str) -> None:
    sc = counted.sc
    with sc.db.reader() as s:
        count_id = s.exec(select(CellCount.id)).first()
    assert count_id is not None

    def call(s: Session) -> None:
        counts.void_count(s, sc.cast.who("technician"), count_id, reason)

    def check(s: Session, _: None) -> None:
        row = s.get(CellCount, count_id)
        assert row is not None
        assert row.voided_reason == _cleaned(reason)

    _attempt(sc.db, call, check, CellCount)


# ------------------------------------------------------------------ formulation


@given(volume=_or("50 mL", "0.05 L"), storage=_or("2–8 °C", "room temperature"))
@example(volume="50 mL", storage="2–8 °C")
@example(volume="1e-320 mL", storage="2–8 °C")
@example(volume="1e308 mL", storage="2–8 °C")
@example(volume="50 mL", storage="x" * 101)
@SETTINGS
def test_formulation(counted: Made, volume: str, storage: str) -> None:
    sc, made = counted.sc, counted

    def call(s: Session) -> formulation.FormulationResult:
        return formulation.formulate(
            s,
            sc.cast.who("technician"),
            lot_id=made.lot,
            volume_text=volume,
            storage=storage,
            formulated_at=utcnow() - dt.timedelta(hours=1),
        )

    def check(s: Session, result: formulation.FormulationResult) -> None:
        row = s.get(ProductUnit, result.units[0].id)
        assert row is not None
        assert row.volume_text.strip() == volume.strip()
        assert row.volume_ml is not None
        assert 0 < row.volume_ml < math.inf
        assert row.viable_cells is not None
        assert 0 <= row.viable_cells < math.inf
        assert row.storage == _cleaned(storage)

    _attempt(sc.db, call, check, ProductUnit)


# ------------------------------------------------------------------------- sites


SITE_FIELDS = (
    "name",
    "fin",
    "timezone",
    "decimal_separator",
    "address",
    "product_code_msc",
    "product_code_placebo",
)
GOOD_SITE = {
    "name": "Second Hospital",
    "fin": "B1234",
    "timezone": "America/New_York",
    "decimal_separator": ",",
    "address": "2 Road",
    "product_code_msc": "S9876100",
    "product_code_placebo": "S9877000",
}


@st.composite
def _site_values(draw: st.DrawFn) -> dict[str, str]:
    """Good values with one to three fields replaced by hostile text."""
    values = dict(GOOD_SITE)
    for key in draw(st.lists(st.sampled_from(SITE_FIELDS), min_size=1, max_size=3, unique=True)):
        values[key] = draw(TEXT)
    return values


@given(values=_site_values())
@example(values={**GOOD_SITE, "timezone": " Europe/Berlin "})
@example(values={**GOOD_SITE, "fin": "b1234 "})
@SETTINGS
def test_site_registration(sc: Scenario, values: dict[str, str]) -> None:
    def call(s: Session) -> sites.SiteInfo:
        return sites.create_site(s, sc.cast.who("admin"), **values)

    def check(s: Session, info: sites.SiteInfo) -> None:
        row = s.get(Site, info.id)
        assert row is not None
        assert row.name == _cleaned(values["name"])
        assert row.address == _cleaned(values["address"])
        assert row.fin == values["fin"].strip().upper()
        assert row.timezone == values["timezone"].strip()
        assert row.decimal_separator == values["decimal_separator"]

    _attempt(sc.db, call, check, Site)  # rolled back: the FIN stays free for the next


@given(values=_site_values(), reason=TEXT)
@example(values=GOOD_SITE, reason="moved")
@SETTINGS
def test_site_update(sc: Scenario, values: dict[str, str], reason: str) -> None:
    def call(s: Session) -> sites.SiteInfo:
        return sites.update_site(s, sc.cast.who("admin"), sc.site_id, reason=reason, **values)

    def check(s: Session, _: sites.SiteInfo) -> None:
        row = s.get(Site, sc.site_id)
        assert row is not None
        assert row.name == _cleaned(values["name"])
        assert row.address == _cleaned(values["address"])
        _last_reason(s, "site", sc.site_id, endswith=_cleaned(reason))

    _attempt(sc.db, call, check, Site)


# -------------------------------------------------------------------- allocation


CODES = ("TLS-001", "TLS-002", "TLS-003")
CELL = st.one_of(
    st.sampled_from(
        [
            *CODES,
            "tls-002 ",
            " TLS-003",
            "MSC-first",
            "placebo-first",
            "msc-FIRST",
            "Placebo-First ",
            "subject_code",
            "sequence",
            '"TLS-001"',
            '"TLS-00\n1"',
            "TLS-001\r",
            "\ufeffTLS-001",
            "TLS-001\x00",
            "",
            " ",
        ]
    ),
    TEXT,
)
LINE = st.lists(CELL, min_size=0, max_size=3).flatmap(
    lambda cells: st.sampled_from([",", ";", "\t", ", "]).map(lambda sep: sep.join(cells))
)
CSV_TEXT = st.one_of(
    st.lists(LINE, max_size=5).flatmap(
        lambda lines: st.sampled_from(["\n", "\r\n", "\r", "\x85", "\u2028"]).map(
            lambda end: end.join(lines)
        )
    ),
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            "\ufeff",
            "subject_code,sequence\n",
            '"unterminated,MSC-first\n',
            "TLS-001,MSC-first\rTLS-002,placebo-first\r",
            "TLS-001,MSC-first\nTLS-001,MSC-first\n",
            "TLS-001," + "x" * 200_000 + "\n",
            "a\x00b,MSC-first\n",
        ]
    ),
)


@pytest.fixture
def subjects(sc: Scenario) -> Scenario:
    """Three registered subjects, none allocated."""
    for code in CODES:
        sc.subject(code, DOB)
    return sc


@given(text=CSV_TEXT, raw=st.one_of(st.none(), st.binary(max_size=200)))
@example(text="subject_code,sequence\nTLS-001,MSC-first\ntls-002 , placebo-first\n", raw=None)
@example(text="TLS-001,MSC-first\rTLS-002,placebo-first\r", raw=None)
@example(text="TLS-001,MSC-\rfirst\n", raw=None)
@example(text="\x00,MSC-FIRST", raw=None)
@example(text="TLS-001," + "x" * 200_000 + "\n", raw=None)
@example(text="", raw=b"\xff\xfeTLS-001,MSC-first\n")
@SETTINGS
def test_allocation_import(
    subjects: Scenario, tmp_path: Path, text: str, raw: bytes | None
) -> None:
    sc = subjects
    path = tmp_path / "allocation.csv"
    if raw is None:
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(raw)

    def call(s: Session) -> allocation.ImportResult:
        return allocation.import_csv(s, sc.cast.who("pharmacist"), path)

    def check(s: Session, result: allocation.ImportResult) -> None:
        assert 1 <= result.rows <= len(CODES)
        stored = dict(
            s.exec(
                select(Subject.code, Allocation.sequence).join(
                    Allocation, col(Allocation.subject_id) == col(Subject.id)
                )
            ).all()
        )
        assert set(stored.values()) <= set(allocation.SEQUENCES)
        assert len(stored) >= result.rows

    _attempt(sc.db, call, check, Allocation, keep=True)


# ------------------------------------------------------------------------ visits


@given(
    week0=st.one_of(st.dates(), st.sampled_from([dt.date.min, dt.date.max, dt.date(9999, 7, 16)]))
)
@example(week0=dt.date(2025, 3, 14))
@example(week0=dt.date.max)
@SETTINGS
def test_visit_scheduling(lot0: Made, week0: dt.date) -> None:
    sc, subject = lot0.sc, lot0.subject

    def call(s: Session) -> tuple[int, int]:
        return visits.schedule(s, sc.cast.who("pharmacist"), subject_id=subject, week0=week0)

    def check(s: Session, ids: tuple[int, int]) -> None:
        v1, v2 = (s.get(Visit, i) for i in ids)
        assert v1 is not None
        assert v2 is not None
        assert (v1.planned_date, v2.planned_date) == (week0, week0 + dt.timedelta(weeks=24))

    _attempt(sc.db, call, check, Visit)


# --------------------------------------------------------------------------- ward

SUBJECT_CODES = st.one_of(
    TEXT,
    st.sampled_from(
        ["TLS-901", " tls-901 ", "TLS-901\x00", "TLS-901\n", "TLS-9O1", "TLS-901" * 1000]
    ),
)
KIT_CODES = st.one_of(
    TEXT,
    st.sampled_from(["<kit>", "<kit-lower>", "<kit>\x00", "<kit>\t", "<kit>" * 500, " <kit> "]),
)


@given(code=SUBJECT_CODES, kit=KIT_CODES, dob=st.one_of(st.just(DOB), st.dates()))
@example(code="TLS-901", kit="<kit>", dob=DOB)
@example(code=" tls-901 ", kit="<kit-lower>", dob=DOB)
@example(code="TLS-901", kit="K-" + "\x00" * 20_000, dob=DOB)
@SETTINGS
def test_bedside_check(dispensed: Made, code: str, kit: str, dob: dt.date) -> None:
    sc, made = dispensed.sc, dispensed
    real_kit = _kit_code(sc.db, made.bag)
    kit = kit.replace("<kit-lower>", real_kit.lower()).replace("<kit>", real_kit)

    def call(s: Session) -> int:
        return ward.bedside_check(
            s,
            sc.cast.who("clinician"),
            visit_id=made.visit,
            subject_code=code,
            date_of_birth=dob,
            kit_code=kit,
        )

    def check(s: Session, infusion_id: int) -> None:
        assert s.get(Infusion, infusion_id) is not None

    stored = _attempt(sc.db, call, check, Infusion, quiet_actions=("bedside-mismatch",))
    matches = code.strip().upper() == "TLS-901" and dob == DOB and kit.strip().upper() == real_kit
    assert stored is matches


@given(
    reactions=PARAGRAPHS,
    grade=st.one_of(
        st.none(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([1, 5, 6, 0, 2.5, math.nan, True]),
        st.floats(),
    ),
)
@example(reactions="mild chills", grade=1)
@example(reactions="", grade=None)
@example(reactions="chills", grade=2.5)
@example(reactions="chills", grade=True)
@example(reactions="x" * 4001, grade=1)
@example(reactions="0\u20280", grade=1)
@example(reactions="a\r\nb", grade=1)
@SETTINGS
def test_infusion_reactions(started: Made, reactions: str, grade: Any) -> None:
    sc, infusion = started.sc, started.infusion
    nurse = sc.cast.who("clinician")

    def call(s: Session) -> None:
        ward.end_infusion(
            s,
            nurse,
            sc.cast.creds("clinician"),
            infusion,
            ended_at=utcnow(),
            reactions=reactions,
            reaction_grade=grade,
        )

    def check(s: Session, _: None) -> None:
        row = s.get(Infusion, infusion)
        assert row is not None
        assert row.ended_at is not None
        # The words as typed, in order; every line break stored as "\n" (a typed "\r\n" or
        # U+2028 line separator included), nothing else between the words changed.
        assert row.reactions.split() == reactions.split()
        assert row.reactions.splitlines() == (row.reactions.split("\n") if row.reactions else [])
        assert row.reaction_grade == grade
        assert grade is None or type(row.reaction_grade) is int

    _attempt(sc.db, call, check, Infusion)


@pytest.fixture
def enrolled(lot0: Made) -> Made:
    """The lot's subject allocated placebo-first, with both visits."""
    lot0.sc.enrol(lot0.subject, allocation.PLACEBO_FIRST, utcnow().date())
    return lot0


@given(reason=PARAGRAPHS)
@example(reason="anaphylaxis, treatment depends on arm")
@example(reason="anaphylaxis " * 200)
@example(reason="anaphylaxis\x00 treatment depends on arm")
@SETTINGS
def test_emergency_unblinding_reason(enrolled: Made, reason: str) -> None:
    sc, subject = enrolled.sc, enrolled.subject

    def call(s: Session) -> str:
        return ward.emergency_unblind(
            s,
            sc.cast.who("investigator"),
            sc.cast.creds("investigator"),
            subject_id=subject,
            reason=reason,
        )

    def check(s: Session, sequence: str) -> None:
        assert sequence == allocation.PLACEBO_FIRST
        row = s.exec(select(Unblinding)).one()
        assert row.reason == _cleaned(reason)

    _attempt(sc.db, call, check, Unblinding)


# -------------------------------------------------------------------- disposition


@given(justification=PARAGRAPHS)
@example(justification="batch record reviewed; all results conform")
@example(justification="j" * 2001)
@example(justification="j" * 4000)
@SETTINGS
def test_release_justification(awaiting: Made, justification: str) -> None:
    _decide(awaiting.sc, awaiting, disposition.release, justification, required=False)


@given(justification=PARAGRAPHS)
@example(justification="sterility failed")
@example(justification="j" * 2001)
@SETTINGS
def test_reject_justification(awaiting: Made, justification: str) -> None:
    _decide(awaiting.sc, awaiting, disposition.reject, justification, required=True)


def _decide(
    sc: Scenario, made: Made, decide: Callable[..., int], justification: str, *, required: bool
) -> None:
    def call(s: Session) -> int:
        return decide(s, sc.cast.who("qa"), made.lot, sc.cast.creds("qa"), justification)

    def check(s: Session, disposition_id: int) -> None:
        row = s.get(Disposition, disposition_id)
        assert row is not None
        assert row.justification == clean_paragraphs(
            justification, "J", max_length=10**6, required=required
        )

    _attempt(sc.db, call, check, Disposition)


# -------------------------------------------------------------------- corrections


@given(value=TEXT, reason=TEXT, method=st.one_of(st.none(), TEXT))
@example(value="no growth", reason="typo", method=None)
@example(value="growth", reason="r" * 501, method=None)
@SETTINGS
def test_qc_correction(lot0: Made, value: str, reason: str, method: str | None) -> None:
    sc, result = lot0.sc, _qc_result(lot0, "growth")

    def call(s: Session) -> qc.QCRow:
        return qc.correct_result(
            s, sc.cast.who("technician"), result, value_text=value, reason=reason, method=method
        )

    def check(s: Session, _: qc.QCRow) -> None:
        row = s.get(QCResult, result)
        assert row is not None
        assert row.value_text == value.strip()
        assert row.conforms is (_cleaned(value).casefold() == "no growth")
        if method is not None:
            assert row.method == _cleaned(method)
        _last_reason(s, "qc_result", result, endswith=_cleaned(reason))

    _attempt(sc.db, call, check, QCResult)


@given(reason=TEXT)
@SETTINGS
def test_qc_void_reason(lot0: Made, reason: str) -> None:
    sc, result = lot0.sc, _qc_result(lot0, "no growth")

    def call(s: Session) -> None:
        qc.void_result(s, sc.cast.who("technician"), result, reason)

    def check(s: Session, _: None) -> None:
        row = s.get(QCResult, result)
        assert row is not None
        assert row.voided_reason == _cleaned(reason)

    _attempt(sc.db, call, check, QCResult)


def _qc_result(made: Made, value: str) -> int:
    """The lot's sterility result (recorded by the first example, reused by the others)."""
    if not made.qc_result:
        with made.sc.db.session() as s:
            made.qc_result = qc.record_result(
                s,
                made.sc.cast.who("technician"),
                lot_id=made.lot,
                test="sterility",
                value_text=value,
                tested_at=utcnow(),
                method="BacT/ALERT",
            )
    return made.qc_result


def test_an_allocation_file_with_carriage_return_line_ends_imports(
    subjects: Scenario, tmp_path: Path
) -> None:
    """Lines ending in a bare CR (old spreadsheet exports) read as lines, not a refusal."""
    path = tmp_path / "allocation.csv"
    path.write_text("TLS-001,MSC-first\rTLS-002,placebo-first\r", encoding="utf-8", newline="")
    with subjects.db.session() as s:
        result = allocation.import_csv(s, subjects.cast.who("pharmacist"), path)
    assert (result.rows, result.created_or_changed) == (2, 2)
