"""Read-only listings (lottrack.views.listings): lot pages, work lists, a lot's history, choices."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from lottrack.demo.scenario import CONFORMING_QC, Scenario
from lottrack.kernel.errors import PermissionDenied, ValidationError
from lottrack.manufacturing import counts, expansion, harvests, lots, qc
from lottrack.release import disposition
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import CellCount, Lot, QCResult, User, utcnow
from lottrack.views import listings
from lottrack.views.listings import worklists
from lottrack.views.listings.pages import MAX_SEARCH
from tests.factories import statements_sent


def _page(sc: Scenario, **kwargs: object) -> listings.LotPage:
    return listings.lot_page(sc.db, sc.cast.who("technician"), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def three_lots(sc: Scenario) -> list[int]:
    """Lots of TLS-001 (oldest, in process), TLS-002 (awaiting release), TLS-003 (newest)."""
    now = utcnow()
    first = sc.harvest_and_lot(
        sc.subject("TLS-001", dt.date(1970, 1, 1)), now - dt.timedelta(days=20)
    )
    second, _ = sc.made_lot(sc.subject("TLS-002", dt.date(1971, 1, 1)))
    third = sc.harvest_and_lot(
        sc.subject("TLS-003", dt.date(1972, 1, 1)), now - dt.timedelta(days=1)
    )
    return [first, second, third]


def test_lot_page_searches_filters_sorts_and_pages(sc: Scenario, three_lots: list[int]) -> None:
    page = _page(sc)
    assert page.total == 3
    assert [r.id for r in page.rows] == list(reversed(three_lots))  # newest first
    assert [r.subject_code for r in page.rows] == ["TLS-003", "TLS-002", "TLS-001"]
    second = page.rows[1]
    assert second.status == lots.AWAITING_RELEASE
    assert second.lot_number == f"L-{second.din}"
    assert second.formulated_at is not None
    # The DIN as printed (in groups), as scanned (barcode data), a lot number, a subject
    # code in lower case; wildcards are searched for literally.
    spaced = f"{second.din[:5]} {second.din[5:7]} {second.din[7:]}"
    for search in (spaced, f"={second.din}00", second.lot_number):
        assert [r.id for r in _page(sc, search=search).rows] == [three_lots[1]], search
    assert [r.id for r in _page(sc, search="tls-001").rows] == [three_lots[0]]
    assert _page(sc, search="%").total == 0
    assert _page(sc, search="_").total == 0
    # Status filter, orders, pages.
    in_process = _page(sc, status=lots.IN_PROCESS)
    assert in_process.total == 2
    assert {r.id for r in in_process.rows} == {three_lots[0], three_lots[2]}
    assert _page(sc, status=lots.RELEASED).rows == []
    first, rest = _page(sc, limit=2), _page(sc, limit=2, offset=2)
    assert (first.total, rest.total) == (3, 3)
    assert [r.id for r in first.rows + rest.rows] == list(reversed(three_lots))
    assert [r.id for r in _page(sc, sort="oldest").rows] == three_lots
    assert [r.subject_code for r in _page(sc, sort="subject").rows] == [
        "TLS-001",
        "TLS-002",
        "TLS-003",
    ]
    assert _page(sc, sort="status").rows[0].status == lots.AWAITING_RELEASE
    # Refusals.
    with pytest.raises(ValidationError, match="not a lot status"):
        _page(sc, status="shipped")
    with pytest.raises(ValidationError, match="not an order"):
        _page(sc, sort="colour")
    with pytest.raises(ValidationError, match="is not a page"):
        _page(sc, limit=0)
    with pytest.raises(PermissionDenied, match="view batch records"):
        listings.lot_page(sc.db, sc.cast.who("clinician"))


def test_lot_search_ignores_dashes_as_it_ignores_spaces(
    sc: Scenario, three_lots: list[int]
) -> None:
    """A subject code, a lot number or a DIN is found with its dash typed, left out or
    pasted from a document; wildcards are still only text."""
    newest = _page(sc, search="TLS-003").rows[0]
    assert newest.id == three_lots[2]
    lot_number = newest.lot_number  # L- and the DIN
    for typed in (
        "tls 003",
        "tls003",
        "TLS–003",
        "TLS—003",
        "TLS−003",
        "TLS‐003",
        lot_number.replace("-", ""),
        lot_number.replace("-", "–").lower(),
        f"{newest.din[:5]}-{newest.din[5:7]}-{newest.din[7:]}",  # a DIN has no dashes
    ):
        assert [r.id for r in _page(sc, search=typed).rows] == [three_lots[2]], typed
    assert {r.id for r in _page(sc, search="L-").rows} == set(three_lots)
    assert _page(sc, search=" - – ").total == 3  # nothing but dashes: every lot
    for typed in ("TLS_003", "TLS%003", "L%", "T_S"):
        assert _page(sc, search=typed).total == 0, typed


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("TLS\x00", 'Search: "TLS\\x00" contains control or invisible characters.'),
        ("\x00", 'Search: "\\x00" contains control or invisible characters.'),
        ("TLS\x1b[31m", 'Search: "TLS\\x1b[31m" contains control or invisible characters.'),
        ("\u200bTLS", 'Search: "\\u200bTLS" contains control or invisible characters.'),
        (7, 'Search: "7" is not text.'),
        ("T" * (MAX_SEARCH + 1), f"Search: at most {MAX_SEARCH} characters."),
    ],
)
def test_a_bad_lot_search_is_refused_alike_on_both_backends(
    sc: Scenario, three_lots: list[int], typed: object, message: str
) -> None:
    """A search the list cannot look for is refused in words, naming the search — on
    PostgreSQL too, whose text cannot hold a NUL (it is never sent)."""
    with pytest.raises(ValidationError) as refused:
        _page(sc, search=typed)
    assert (refused.value.message, refused.value.field) == (message, "Search")
    assert _page(sc).total == 3


def test_the_lot_list_rereads_the_account_and_returns_what_the_orm_would(
    sc: Scenario, three_lots: list[int]
) -> None:
    """Read on the bare driver, the list still refuses a disabled or locked account at
    once, and its rows hold the values (aware times included) a session returns."""
    tech = sc.cast.who("technician")
    page = _page(sc)
    with sc.db.reader() as s:
        for row in page.rows:
            lot = s.get(Lot, row.id)
            assert lot is not None
            assert (row.lot_number, row.status, row.created_at, row.formulated_at) == (
                lot.lot_number,
                lot.status,
                lot.created_at,
                lot.formulated_at,
            )
            assert row.created_at.tzinfo is not None
    with sc.db.session() as s:
        user = s.get(User, tech.id)
        assert user is not None
        audit.set_actor(s, user.id, user.username)
        with audit.reason(s, "test: too many failed logins"):
            user.locked_at = utcnow()
    with pytest.raises(PermissionDenied, match="is locked"):
        _page(sc)
    with sc.db.session() as s:
        user = s.get(User, tech.id)
        assert user is not None
        audit.set_actor(s, user.id, user.username)
        with audit.reason(s, "test: left the facility"):
            user.locked_at, user.active = None, False
    with pytest.raises(PermissionDenied, match="is disabled"):
        _page(sc)


def test_technician_worklist_says_what_is_due(sc: Scenario) -> None:
    now = utcnow()
    fresh = sc.harvest_and_lot(
        sc.subject("TLS-010", dt.date(1970, 1, 1)), now - dt.timedelta(days=5)
    )
    growing = sc.harvest_and_lot(
        sc.subject("TLS-011", dt.date(1970, 1, 1)), now - dt.timedelta(days=8)
    )
    with sc.db.session() as s:
        expansion.record_passage(
            s,
            sc.cast.who("technician"),
            lot_id=growing,
            number=0,
            seeded_at=now - dt.timedelta(days=7),
            cells_seeded_text="5e6",
            area_text="175 cm2",
            vessels="T175",
            reagent_lot_ids=sc.reagent_ids,
        )
    grown = sc.harvest_and_lot(
        sc.subject("TLS-012", dt.date(1970, 1, 1)), now - dt.timedelta(days=12)
    )
    sc.passages(grown, now - dt.timedelta(days=11), n=3)
    missing_qc, _ = sc.made_lot(
        sc.subject("TLS-013", dt.date(1970, 1, 1)),
        qc_results={k: v for k, v in CONFORMING_QC.items() if k != "sterility"},
    )
    complete, _ = sc.made_lot(sc.subject("TLS-014", dt.date(1970, 1, 1)))
    with sc.db.reader() as s:
        items = {i.lot_id: i for i in listings.technician_worklist(s, sc.cast.who("technician"))}
    assert items[fresh].due == "Seed P0"
    assert items[growing].due == "Harvest P0"
    assert items[grown].due == "Seed P3 or count final product"
    assert items[missing_qc].due == "QC result missing: Sterility (aerobic/anaerobic culture)"
    assert complete not in items  # every result in: it is QA's turn


def test_review_queue_flags_out_of_specification(sc: Scenario) -> None:
    ready, _ = sc.made_lot(sc.subject("TLS-020", dt.date(1970, 1, 1)))
    failing, _ = sc.made_lot(
        sc.subject("TLS-021", dt.date(1970, 1, 1)),
        qc_results=dict(CONFORMING_QC, viability_fresh="75 %"),
    )
    sc.harvest_and_lot(sc.subject("TLS-022", dt.date(1970, 1, 1)), utcnow() - dt.timedelta(days=2))
    with sc.db.reader() as s:
        queue = {i.lot_id: i for i in listings.review_queue(s, sc.cast.who("qa"))}
    assert set(queue) == {ready, failing}
    assert queue[ready].flag == "ready"
    assert queue[failing].flag == "INVESTIGATION OPEN, OUT OF SPEC"
    assert queue[failing].out_of_spec[0].startswith("Viability, fresh final product 75 %")
    sc.conclude_investigations(failing)
    with sc.db.reader() as s:
        queue = {i.lot_id: i for i in listings.review_queue(s, sc.cast.who("qa"))}
    assert queue[failing].flag == "OUT OF SPEC"


def test_lot_history_counts_timeline_and_audit_trail(sc: Scenario) -> None:
    lot_id, _ = sc.made_lot(sc.subject("TLS-030", dt.date(1970, 1, 1)))
    qa, tech = sc.cast.who("qa"), sc.cast.who("technician")
    with sc.db.reader() as s:
        first_passage = listings.lot_form_context(s, tech, lot_id).passages[0]
    with sc.db.session() as s:
        expansion.correct_passage(
            s, tech, first_passage.id, vessels="T175 flask", reason="vessel misnamed"
        )
    with sc.db.reader() as s:
        (count,) = listings.lot_counts(s, tech, lot_id)
        timeline = listings.lot_timeline(s, tech, lot_id)
        trail = listings.lot_audit_trail(s, qa, lot_id)
        context = listings.lot_form_context(s, tech, lot_id)
    assert count.target == "final-product"
    assert [r.position for r in count.replicates] == [1, 2]
    assert count.replicates[0].entered_text.startswith("live 100, dead 4")
    assert not count.recount_required
    whats = [e.what for e in timeline]
    assert whats[0].startswith("Bone marrow collected, 90 mL")
    assert "P2 harvested, 1.4e8 cells" in whats
    assert any(w.startswith("QC: 14 result(s)") for w in whats)
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert whats.index(f"Lot {context.lot_number} started") < whats.index("P0 seeded, 5e6 cells")
    (formulated,) = [e for e in timeline if e.what.startswith("Formulated")]
    assert (formulated.what, formulated.by) == ("Formulated into 1 bag", tech.username)
    entities = {row.entity for row in trail}
    assert {
        "lot",
        "harvest",
        "passage",
        "cell_count",
        "count_replicate",
        "qc_result",
        "product_unit",
        "passage_reagent",
    } <= entities
    corrections = [row for row in trail if row.changed_after_entry]
    assert [(c.entity, c.reason) for c in corrections] == [("passage", "vessel misnamed")]
    assert corrections[0].changes["vessels"] == ["CellSTACK", "T175 flask"]
    harvest_filled = [
        r
        for r in trail
        if r.entity == "passage" and r.action == "update" and "harvested_at" in r.changes
    ]
    assert harvest_filled
    assert not any(r.changed_after_entry for r in harvest_filled)
    assert context.status == lots.AWAITING_RELEASE
    assert [p.label for p in context.passages] == ["P0", "P1", "P2"]
    assert context.open_passage is None
    assert context.next_passage == 3
    sterility = next(t for t in context.qc_tests if t.code == "sterility")
    assert (sterility.latest_value, sterility.latest_conforms) == ("no growth", True)
    with pytest.raises(PermissionDenied), sc.db.reader() as s:
        listings.lot_audit_trail(s, tech, lot_id)  # the audit trail is QA's


def test_a_lots_audit_trail_is_read_in_a_fixed_number_of_statements(sc: Scenario) -> None:
    """A lot just started and a formulated lot with dozens of records cost the same
    statements; the trail holds the lot's records and nothing of another lot's."""
    qa = sc.cast.who("qa")
    fresh = sc.harvest_and_lot(
        sc.subject("TLS-050", dt.date(1970, 1, 1)), utcnow() - dt.timedelta(days=2)
    )
    made, _ = sc.made_lot(sc.subject("TLS-051", dt.date(1970, 1, 1)))
    other, _ = sc.made_lot(sc.subject("TLS-052", dt.date(1970, 1, 1)))

    def trail(lot_id: int) -> list[listings.AuditRow]:
        with sc.db.reader() as s:
            return listings.lot_audit_trail(s, qa, lot_id)

    few = statements_sent(sc.db, lambda s: listings.lot_audit_trail(s, qa, fresh))
    many = statements_sent(sc.db, lambda s: listings.lot_audit_trail(s, qa, made))
    assert few == many <= 4
    rows, theirs = trail(made), trail(other)
    assert len(rows) > 30
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    assert not {(r.entity, r.entity_id) for r in rows} & {(r.entity, r.entity_id) for r in theirs}
    assert {r.entity_id for r in rows if r.entity == "lot"} == {str(made)}
    with sc.db.reader() as s:
        qc_ids = {str(r.id) for r in s.exec(select(QCResult).where(QCResult.lot_id == made))}
    assert {r.entity_id for r in rows if r.entity == "qc_result"} == qc_ids


def test_choices_for_forms(sc: Scenario) -> None:
    tech = sc.cast.who("technician")
    subject = sc.subject("TLS-040", dt.date(1970, 1, 1))
    with sc.db.session() as s:
        harvest = harvests.record_harvest(
            s,
            tech,
            subject_id=subject,
            collected_at=utcnow() - dt.timedelta(hours=3),
            volume_text="85 mL",
            anticoagulant="heparin",
            aspiration_site="iliac crest",
        )
    sc.harvest_and_lot(subject, utcnow() - dt.timedelta(days=1))
    with sc.db.reader() as s:
        waiting = listings.harvests_without_lot(s, tech)
        subjects = listings.subject_choices(s, tech)
        sites = listings.site_choices(s, tech)
        usable = listings.reagent_lots(s, tech, usable_only=True)
    assert [(h.id, h.din, h.subject_code) for h in waiting] == [
        (harvest.id, harvest.din, "TLS-040")
    ]
    assert [(c.code, c.decimal_separator) for c in subjects] == [("TLS-040", ".")]
    assert [c.id for c in sites] == [sc.site_id]
    assert {r.id for r in usable} == {*sc.reagent_ids, sc.media_id}
    assert all(r.status == "released" for r in usable)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_read_sent_on_a_connection_the_server_dropped_is_run_again_on_a_fresh_one(
    sc: Scenario, three_lots: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lot list keeps its driver connections between reads. When the server dropped one
    (a restart) and its goodbye has not reached the socket yet, the read is sent, fails,
    and is run once more on a fresh connection: the person sees the page, not an error."""
    assert _page(sc).total == 3
    spare = sc.db._spare[-1].dbapi_connection
    with sc.db.engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({spare.info.backend_pid})")
    # The moment before the goodbye arrives, made certain: the kept connection looks open.
    monkeypatch.setattr(Database, "_still_open", lambda _self, _connection: True)
    assert _page(sc).total == 3
    assert spare.closed  # thrown away, not kept
    assert _page(sc).total == 3


# ------------------------------------------------------------- work lists: batched reads


def _passage(
    sc: Scenario,
    lot_id: int,
    number: int,
    seeded: dt.datetime,
    harvested: dt.datetime | None = None,
) -> None:
    tech = sc.cast.who("technician")
    with sc.db.session() as s:
        pid = expansion.record_passage(
            s,
            tech,
            lot_id=lot_id,
            number=number,
            seeded_at=seeded,
            cells_seeded_text="5e6",
            area_text="175 cm2",
            vessels="T175",
            reagent_lot_ids=sc.reagent_ids,
        )
    if harvested is not None:
        with sc.db.session() as s:
            expansion.record_passage_harvest(
                s,
                tech,
                passage_id=pid,
                harvested_at=harvested,
                cells_harvested_text="4e7",
                viability_text="95 %",
            )


def _without(*codes: str) -> dict[str, str]:
    return {k: v for k, v in CONFORMING_QC.items() if k not in codes}


STERILITY = "Sterility (aerobic/anaerobic culture)"


def test_work_lists_read_a_fixed_number_of_statements_and_say_what_is_due(sc: Scenario) -> None:
    """The technician's and QA's lists read the same number of statements for 2 lots as
    for 14 (no query per lot), and say for lots in every state what is due, since when,
    what is missing and what is out of specification, in their orders."""
    tech, qa = sc.cast.who("technician"), sc.cast.who("qa")
    now = utcnow()

    def days(n: int) -> dt.datetime:
        return now - dt.timedelta(days=n)

    def subject(n: int) -> int:
        return sc.subject(f"TLS-1{n:02d}", dt.date(1970, 1, 1))

    # Two lots: one in process (P0-P2 harvested), one awaiting release without sterility.
    grown = sc.harvest_and_lot(subject(0), days(30))
    grown_at = sc.passages(grown, days(29), n=3)
    no_sterility, _ = sc.made_lot(subject(1), qc_results=_without("sterility"))

    def lists() -> tuple[int, int, int, int]:
        return (
            statements_sent(sc.db, lambda s: listings.technician_worklist(s, tech)),
            statements_sent(sc.db, lambda s: listings.technician_work(s, tech, limit=3)),
            statements_sent(sc.db, lambda s: listings.review_queue(s, qa)),
            statements_sent(sc.db, lambda s: listings.review_queue(s, qa, limit=3)),
        )

    few = lists()
    with sc.db.reader() as s:
        assert len(listings.technician_worklist(s, tech)) == 2
        assert len(listings.review_queue(s, qa)) == 1

    # Lots in process in every state.
    fresh = sc.harvest_and_lot(subject(2), days(2))
    seeded = sc.harvest_and_lot(subject(3), days(40))
    _passage(sc, seeded, 0, days(39))
    at_max = sc.harvest_and_lot(subject(4), days(50))
    at_max_at = sc.passages(at_max, days(49), n=5)  # P4 is the specification's last
    spread = sc.harvest_and_lot(subject(5), days(60))
    sc.passages(spread, days(59), n=3)
    sc.final_count(spread, days(3), spread=True)
    recounted = sc.harvest_and_lot(subject(6), days(70))
    sc.passages(recounted, days(69), n=3)
    sc.final_count(recounted, days(5), spread=True)
    sc.final_count(recounted, days(4))  # the latest count is the one that counts
    counted_early = sc.harvest_and_lot(subject(7), days(80))
    _passage(sc, counted_early, 0, days(79), days(77))
    sc.final_count(counted_early, days(76))  # before P1's harvest: it no longer counts
    _passage(sc, counted_early, 1, days(75), days(74))
    voided = sc.harvest_and_lot(subject(8), days(90))
    voided_at = sc.passages(voided, days(89), n=3)
    sc.final_count(voided, days(6))
    with sc.db.reader() as s:
        (voided_count,) = listings.lot_counts(s, tech, voided)
    with sc.db.session() as s:
        counts.void_count(s, tech, voided_count.id, "wrong lot's chamber")
    # Formulated lots: out of specification (and held), retested, three missing (one of
    # them voided), complete, complete with a recount pending.
    failing, _ = sc.made_lot(
        subject(9), qc_results=_without("mycoplasma") | {"viability_fresh": "75 %", "cd45": "3 %"}
    )
    with sc.db.session() as s:
        disposition.quarantine(s, qa, failing, sc.cast.creds("qa"), "viability 75 %")
    retested, _ = sc.made_lot(subject(10), qc_results=dict(CONFORMING_QC, viability_fresh="75 %"))
    with sc.db.reader() as s:
        first = next(r for r in qc.results(s, retested) if r.code == "viability_fresh")
    with sc.db.session() as s:
        qc.record_result(
            s,
            tech,
            lot_id=retested,
            test="viability_fresh",
            value_text="91 %",
            tested_at=utcnow(),
            retest_of_id=first.id,
            reason="OOS investigation: fresh aliquot",
        )
    sc.conclude_investigations(retested, lab_error=True, conclusion="dye expired")
    three_missing, _ = sc.made_lot(subject(11), qc_results=_without("sterility", "mycoplasma"))
    with sc.db.reader() as s:
        endotoxin = next(r for r in qc.results(s, three_missing) if r.code == "endotoxin")
    with sc.db.session() as s:
        qc.void_result(s, tech, endotoxin.id, "sample mislabelled")
    complete, _ = sc.made_lot(subject(12))
    recount, _ = sc.made_lot(subject(13))
    with sc.db.session() as s:  # as a count set entered before formulation checks existed
        audit.set_actor(s, tech.id, "technician")
        s.add(
            CellCount(
                lot_id=recount,
                target=counts.FINAL_PRODUCT,
                method="hemocytometer",
                counted_at=utcnow(),
                counted_by=tech.id,
                mean_viable_per_ml=2e6,
                viability_pct=94.0,
                cv_pct=15.7,
                recount_required=True,
            )
        )

    assert lists() == few  # 14 lots, the same statements as for 2

    with sc.db.reader() as s:
        work = listings.technician_worklist(s, tech)
        queue = listings.review_queue(s, qa)
        # QA's home lists the oldest lots of the queue: the same items, judged the same,
        # as the first of the whole queue; the count is the whole queue's.
        pages = {n: listings.review_queue(s, qa, limit=n) for n in (1, 3, len(queue) + 5)}
        size = listings.review_queue_page(s, qa, limit=1)[1]
        created = {
            lot.id: lot.created_at for lot in s.exec(select(Lot)).all() if lot.id is not None
        }
        formulated = {lot.id: lot.formulated_at for lot in s.exec(select(Lot)).all()}
        steps = {i.lot_id: listings.next_step(s, tech, i.lot_id) for i in work}
        # The list decides what is missing in the database; one lot's readiness, in
        # Python: the same answer for every lot (voided, retested, investigated, complete).
        decided = [lot for lot in s.exec(select(Lot)).all() if lot.status != lots.IN_PROCESS]
        owed = qc.missing_of(s, [lot.id for lot in decided if lot.id is not None])
        assert {lot.id: owed.get(lot.id or 0, ()) for lot in decided} == {
            lot.id: qc.readiness(s, lot).missing for lot in decided
        }
        assert (len(owed), len(decided)) == (3, 6)
        # The database picks, orders and counts the lab's list: the lots it finds lacking a
        # result are those whose readiness misses one, and since when each lot in process
        # waits is what its next step says (worklists._since_in_sql beside _step).
        lacks, required, required_of_lot = qc.lacks_result()
        lacking = set(
            s.execute(
                sa_select(col(Lot.id)).outerjoin(required, required_of_lot).where(lacks)
            ).scalars()
        )
        assert {lot.id for lot in decided if lot.id in lacking} == {
            lot.id for lot in decided if qc.readiness(s, lot).missing
        }
        since, last, last_passage = worklists._since_in_sql(s.get_bind().dialect.name)
        waiting = dict(
            s.execute(
                sa_select(col(Lot.id), since)
                .outerjoin(last, last_passage)
                .where(col(Lot.status) == lots.IN_PROCESS)
            ).all()
        )
        assert waiting == {
            lot_id: step.since
            for lot_id in waiting
            if (step := listings.lot_next_step(s, tech, lot_id)) is not None
        }
        lab_pages = {n: listings.technician_work(s, tech, limit=n) for n in (1, 4, len(work) + 5)}
        # The batch record reads the results (voided ones too) and the readiness once and
        # hands them to the form context and the next step: the same answers as theirs.
        for each in s.exec(select(Lot)).all():
            assert each.id is not None
            shown = qc.results(s, each.id, include_voided=True)
            assert listings.lot_form_context(
                s, tech, each.id, results=shown
            ) == listings.lot_form_context(s, tech, each.id), each.lot_number
            assert listings.lot_next_step(
                s, tech, each.id, readiness=qc.readiness(s, each)
            ) == listings.lot_next_step(s, tech, each.id), each.lot_number
    expected = [  # longest waiting first
        (
            voided,
            lots.IN_PROCESS,
            "Seed P3 or count final product",
            voided_at - dt.timedelta(minutes=30),
        ),  # P2 harvested about 79 days ago
        (counted_early, lots.IN_PROCESS, "Seed P2 or count final product", days(74)),
        (seeded, lots.IN_PROCESS, "Harvest P0", days(39)),
        (
            at_max,
            lots.IN_PROCESS,
            "Count final product",
            at_max_at - dt.timedelta(minutes=30),
        ),  # about 34 days ago
        (
            grown,
            lots.IN_PROCESS,
            "Seed P3 or count final product",
            grown_at - dt.timedelta(minutes=30),
        ),  # about 19 days ago
        (recounted, lots.IN_PROCESS, "Formulate", days(4)),
        (spread, lots.IN_PROCESS, "Recount final product (CV 28.3 %)", days(3)),
        # started 20 minutes after its collection two days ago (demo.scenario)
        (fresh, lots.IN_PROCESS, "Seed P0", created[fresh]),
        (
            no_sterility,
            lots.AWAITING_RELEASE,
            f"QC result missing: {STERILITY}",
            formulated[no_sterility],
        ),
        (
            failing,
            lots.QUARANTINED,  # viability and CD45 out of specification
            "2 INVESTIGATIONS OPEN · QC result missing: Mycoplasma",
            formulated[failing],
        ),
        (three_missing, lots.AWAITING_RELEASE, "QC results missing: 3", formulated[three_missing]),
    ]
    assert [(i.lot_id, i.status, i.due, i.since) for i in work] == expected
    assert size == len(queue) > 3
    assert len(waiting) == 8  # every lot in process, in each state
    assert {n: (list(p.items), p.total) for n, p in lab_pages.items()} == {
        n: (work[:n], len(work)) for n in lab_pages
    }
    assert pages == {n: queue[:n] for n in pages}
    assert all(i.subject_code == f"TLS-1{sorted(created).index(i.lot_id):02d}" for i in work)
    assert {lot_id: steps[lot_id] for lot_id, *_ in expected} == {
        **{lot_id: due for lot_id, status, due, _ in expected if status == lots.IN_PROCESS},
        no_sterility: f"QC results missing: {STERILITY}",
        failing: "QC results missing: Mycoplasma",
        three_missing: f"QC results missing: {STERILITY}, Mycoplasma, Endotoxin",
    }
    assert [
        (i.lot_id, i.status, i.formulated_at, i.missing, i.out_of_spec, i.recount_pending, i.flag)
        for i in queue
    ] == [  # oldest formulation first
        (
            no_sterility,
            lots.AWAITING_RELEASE,
            formulated[no_sterility],
            (STERILITY,),
            (),
            False,
            "1 result(s) missing",
        ),
        (
            failing,
            lots.QUARANTINED,
            formulated[failing],
            ("Mycoplasma",),
            ("Viability, fresh final product 75 % (limit ≥ 80 %)", "CD45 3 % (limit ≤ 2 %)"),
            False,
            "INVESTIGATION OPEN, OUT OF SPEC, 1 missing",
        ),
        (retested, lots.AWAITING_RELEASE, formulated[retested], (), (), False, "ready"),
        (
            three_missing,
            lots.AWAITING_RELEASE,
            formulated[three_missing],
            (STERILITY, "Mycoplasma", "Endotoxin"),
            (),
            False,
            "3 result(s) missing",
        ),
        (complete, lots.AWAITING_RELEASE, formulated[complete], (), (), False, "ready"),
        (recount, lots.AWAITING_RELEASE, formulated[recount], (), (), True, "recount pending"),
    ]
    with sc.db.reader() as s:  # one lot's readiness is the batched one's
        ready = qc.readiness_of(s, s.exec(select(Lot)).all())
        for lot_id, state in ready.items():
            lot = s.get(Lot, lot_id)
            assert lot is not None
            assert qc.readiness(s, lot) == state

    with sc.db.reader() as s:  # what the batch-record screen offers to record
        offered = {
            lot_id: listings.recordable(
                listings.lot_form_context(s, tech, lot_id), listings.lot_next_step(s, tech, lot_id)
            )
            for lot_id, *_ in expected
        }
    assert offered == {
        fresh: {"seed", "qc"},
        seeded: {"harvest", "qc"},
        at_max: {"count", "qc"},  # P4 is the last passage: no seeding
        spread: {"seed", "count", "qc"},  # a recount, not a formulation
        recounted: {"seed", "count", "formulate", "qc"},
        counted_early: {"seed", "count", "qc"},  # the count was before P1's harvest
        voided: {"seed", "count", "qc"},  # its only count was voided
        grown: {"seed", "count", "qc"},
        no_sterility: {"qc"},
        failing: {"qc"},  # quarantined: results only
        three_missing: {"qc"},
    }
