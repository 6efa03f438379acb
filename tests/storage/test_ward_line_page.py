"""The ward's Find-a-patient pages (lottrack.trial.listings.ward_line_page), on both
backends: a line per visit and one per patient without a visit, paged by subject code then
period, searched by code or initials, counted in SQL; refusals; a fixed number of
statements. (That a page reads the same for MSC and placebo patients is in
test_arm_parity.py.)"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import PermissionDenied, ValidationError
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, utcnow
from lottrack.trial import listings
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST
from lottrack.trial.listings.blinded import MAX_PAGE, MAX_SEARCH, NO_VISIT
from tests.factories import statements_sent
from tests.storage.test_bad_input import NASTY, SETTINGS

DOB = dt.date(1968, 7, 14)
# Registered out of order, with their initials; TLS-002 and TLS-010 get both visits.
SUBJECTS = {
    "TLS-010": "JMD",
    "TLS-002": "AB",
    "XY-100": "TLS",
    "TLS-001": "CD",
    "ABC-10": "AB",
    "TLS-100": "XAB",
}
ENROLLED = {"TLS-002": MSC_FIRST, "TLS-010": PLACEBO_FIRST}
# By subject code then period: a line per visit, one for a patient without visits.
LINES = [
    ("ABC-10", None),
    ("TLS-001", None),
    ("TLS-002", 1),
    ("TLS-002", 2),
    ("TLS-010", 1),
    ("TLS-010", 2),
    ("TLS-100", None),
    ("XY-100", None),
]


@pytest.fixture
def patients(sc: Scenario) -> dict[str, int]:
    """The subjects of SUBJECTS (code → id), two of them enrolled (both visits planned)."""
    ids = {code: sc.subject(code, DOB, initials) for code, initials in SUBJECTS.items()}
    for code, sequence in ENROLLED.items():
        sc.enrol(ids[code], sequence, utcnow().date())
    return ids


def _page(sc: Scenario, role: str = "clinician", **kwargs: Any) -> listings.WardLinePage:
    with sc.db.reader() as s:
        return listings.ward_line_page(s, sc.cast.who(role), **kwargs)


def _lines(page: listings.WardLinePage) -> list[tuple[str, int | None]]:
    return [(row.subject_code, row.period) for row in page.rows]


def _audit_events(db: Database) -> int:
    with db.reader() as s:
        return int(s.exec(select(func.count()).select_from(AuditEvent)).one())


def test_every_line_is_on_exactly_one_page_by_code_then_period(
    sc: Scenario, patients: dict[str, int]
) -> None:
    whole = _page(sc)
    assert _lines(whole) == LINES
    assert (whole.total, whole.patients, whole.offset, whole.limit) == (8, 6, 0, 50)
    for limit in (1, 2, 3, 5, 8):
        pages = [_page(sc, offset=offset, limit=limit) for offset in range(0, 8, limit)]
        assert [line for p in pages for line in _lines(p)] == LINES, limit
        assert {(p.total, p.patients) for p in pages} == {(8, 6)}
        assert all(len(p.rows) == min(limit, 8 - p.offset) for p in pages)
    past_the_end = _page(sc, offset=8, limit=3)
    assert (past_the_end.rows, past_the_end.total, past_the_end.patients) == ((), 8, 6)
    assert _lines(_page(sc, limit=MAX_PAGE)) == LINES
    # What each line holds: the visit, or the patient without one; the subject for w.
    rows = {(r.subject_code, r.period): r for r in whole.rows}
    planned = rows[("TLS-002", 1)]
    assert (planned.initials, planned.state, planned.planned_date) == (
        "AB",
        "waiting for the pharmacy",
        utcnow().date(),
    )
    assert planned.visit_id is not None
    assert planned.subject_id == patients["TLS-002"]
    bare = rows[("TLS-001", None)]
    assert (bare.visit_id, bare.planned_date, bare.state, bare.initials) == (
        None,
        None,
        NO_VISIT,
        "CD",
    )
    assert bare.subject_id == patients["TLS-001"]
    assert not any(r.unblinded for r in whole.rows)


def test_the_lines_are_those_of_the_homes_listing(sc: Scenario, patients: dict[str, int]) -> None:
    """The same rows, word for word, as the home's first patients."""
    with sc.db.reader() as s:
        home = listings.ward_patients(s, sc.cast.who("clinician"))
    assert _page(sc).rows == home.rows


def test_search_finds_codes_and_initials_ignoring_case_spaces_and_dashes(
    sc: Scenario, patients: dict[str, int]
) -> None:
    by_code = _page(sc, search="tls-00")
    assert _lines(by_code) == [("TLS-001", None), ("TLS-002", 1), ("TLS-002", 2)]
    assert (by_code.total, by_code.patients) == (3, 2)
    assert _lines(_page(sc, search=" t l s - 1 0 0 ")) == [("TLS-100", None)]
    # The dash as typed, left out or pasted from a document.
    for typed in ("tls 002", "tls002", "TLS–002", "TLS—002", "TLS−002", "tls ‐ 002"):
        found = _page(sc, search=typed)
        assert (_lines(found), found.total, found.patients) == (
            [("TLS-002", 1), ("TLS-002", 2)],
            2,
            1,
        ), typed
    assert _lines(_page(sc, search="C10")) == [("ABC-10", None)]  # across the dash
    # Initials: JMD is TLS-010's; "ab" is in three patients' initials and one code.
    assert _lines(_page(sc, search="jmd")) == [("TLS-010", 1), ("TLS-010", 2)]
    ab = _page(sc, search="ab")
    assert [r.subject_code for r in ab.rows] == ["ABC-10", "TLS-002", "TLS-002", "TLS-100"]
    assert (ab.total, ab.patients) == (4, 3)
    # "TLS" is in four codes and in XY-100's initials (not in ABC-10's).
    tls = _page(sc, search="TLS", offset=2, limit=3)
    assert _lines(tls) == [("TLS-002", 2), ("TLS-010", 1), ("TLS-010", 2)]
    assert (tls.total, tls.patients) == (7, 5)
    # Wildcards, quotes and backslashes are only text.
    for typed in ("%", "_", "T%1", "TLS_001", "TLS%001", "'", '"', "\\", "' OR '1'='1", "%'; --"):
        found = _page(sc, search=typed)
        assert (found.rows, found.total, found.patients) == ((), 0, 0), typed
    # Whitespace and dashes are not counted, nor refused.
    for blank in ("", "   ", " " * 200, "\t\n", " - – "):
        assert _page(sc, search=blank).total == 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"search": "T" * (MAX_SEARCH + 1)}, f"Search: at most {MAX_SEARCH} characters"),
        ({"search": "TLS\x00"}, 'Search: "TLS\\x00" contains control or invisible'),
        ({"search": "TLS\x1b[31m"}, 'Search: "TLS\\x1b[31m" contains control or invisible'),
        ({"search": "\u200bTLS"}, 'Search: "\\u200bTLS" contains control or invisible'),
        ({"search": 7}, 'Search: "7" is not text'),
        ({"limit": 0}, "Page: 0 lines from 0 is not a page"),
        ({"limit": -5}, "is not a page"),
        ({"limit": MAX_PAGE + 1}, "is not a page"),
        ({"offset": -1}, "Page: 50 lines from -1 is not a page"),
        ({"offset": "2"}, "is not a page"),
    ],
)
def test_a_bad_search_or_page_is_refused_and_nothing_changes(
    sc: Scenario, patients: dict[str, int], kwargs: dict[str, Any], message: str
) -> None:
    before, events = _page(sc), _audit_events(sc.db)
    with pytest.raises(ValidationError, match=re.escape(message)) as refused:
        _page(sc, **kwargs)
    assert refused.value.field == ("Search" if "search" in kwargs else "Page")
    assert _page(sc) == before
    assert _audit_events(sc.db) == events
    # Spaces and dashes are not counted: the longest search, spread out, is still a search.
    assert _page(sc, search=" ".join("9" * MAX_SEARCH)).total == 0
    assert _page(sc, search="–".join("9" * MAX_SEARCH)).total == 0


@pytest.mark.parametrize("role", ["pharmacist", "technician", "qa", "admin"])
def test_roles_that_do_not_record_infusions_are_refused_first(
    sc: Scenario, patients: dict[str, int], role: str
) -> None:
    with pytest.raises(PermissionDenied):
        _page(sc, role)
    # The permission comes first: a bad page or search tells them nothing either.
    with pytest.raises(PermissionDenied):
        _page(sc, role, limit=0, search="T\x00" * 100)


def test_a_page_costs_the_same_statements_whatever_its_length_or_progress(
    sc: Scenario, patients: dict[str, int]
) -> None:
    """A page of one visit and a page of every line, whatever the visits' steps, are read
    in the same statements (not one per patient or per visit)."""
    nurse = sc.cast.who("clinician")

    def sent(**kwargs: Any) -> int:
        return statements_sent(sc.db, lambda s: listings.ward_line_page(s, nurse, **kwargs))

    def infuse_period_1(code: str) -> None:
        lot_id, bag = sc.made_lot(patients[code])
        sc.release(lot_id)
        visit = _page(sc, search=code).rows[0].visit_id
        assert visit is not None
        sc.dispense(visit, msc_bag=bag if ENROLLED[code] == MSC_FIRST else None)
        sc.infuse(visit)

    infuse_period_1("TLS-002")
    one = sent(offset=2, limit=1)  # TLS-002 period 1 alone
    assert sent(limit=8) == one
    infuse_period_1("TLS-010")
    assert sent(limit=8) == one
    assert [r.state for r in _page(sc).rows if r.period == 1] == ["infused", "infused"]
    # A page without visits has no visit steps to read.
    assert sent(limit=2) < one


@given(search=st.one_of(NASTY, st.text(alphabet="tlsTLS-–0123abAB %_ ", max_size=40)))
@SETTINGS
def test_any_search_gives_a_page_of_matches_or_a_clear_refusal(
    sc: Scenario, patients: dict[str, int], search: str
) -> None:
    needle = "".join(ch for ch in "".join(search.split()).upper() if ch not in "-–")
    if len(needle) > MAX_SEARCH or any(unicodedata.category(c).startswith("C") for c in needle):
        with pytest.raises(ValidationError, match="^Search: "):
            _page(sc, search=search, limit=5)
        return
    page = _page(sc, search=search, limit=5)
    assert len(page.rows) == min(5, page.total)
    assert page.patients <= page.total
    for row in page.rows:
        assert needle in row.subject_code.replace("-", "") or needle in row.initials
    expected = [
        line for line in LINES if needle in line[0].replace("-", "") or needle in SUBJECTS[line[0]]
    ]
    assert page.total == len(expected)
    assert _lines(page) == expected[:5]
