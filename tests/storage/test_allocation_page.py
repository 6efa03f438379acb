"""The allocation screen's pages (lottrack.trial.allocation_list.allocation_page), on both
backends: paging, totals, search, order, the trial's numbers, refusals."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import event

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import PermissionDenied, ValidationError
from lottrack.storage.models import utcnow
from lottrack.trial import allocation_list
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST
from lottrack.trial.allocation_list import MAX_PAGE, MAX_SEARCH, AllocationPage

DOB = dt.date(1968, 7, 14)
# Registered out of order; by code they are ABC-10, TLS-001, TLS-002, TLS-003, TLS-010,
# TLS-100, XY-100.
CODES = ("TLS-003", "TLS-001", "XY-100", "TLS-010", "ABC-10", "TLS-100", "TLS-002")
BY_CODE = sorted(CODES)


@pytest.fixture
def subjects(sc: Scenario) -> dict[str, int]:
    """The seven subjects of CODES, none allocated; code → id."""
    return {code: sc.subject(code, DOB) for code in CODES}


def _page(sc: Scenario, role: str = "pharmacist", **kwargs: Any) -> AllocationPage:
    with sc.db.reader() as s:
        return allocation_list.allocation_page(s, sc.cast.who(role), **kwargs)


def _codes(page: AllocationPage) -> list[str]:
    return [row.code for row in page.subjects]


def test_pages_follow_the_subject_code_and_count_every_match(
    sc: Scenario, subjects: dict[str, int]
) -> None:
    whole = _page(sc)
    assert _codes(whole) == BY_CODE
    assert (whole.total, whole.offset, whole.limit) == (7, 0, 50)
    pages = [_page(sc, offset=offset, limit=3) for offset in (0, 3, 6)]
    assert [_codes(p) for p in pages] == [BY_CODE[:3], BY_CODE[3:6], BY_CODE[6:]]
    assert {p.total for p in pages} == {7}
    assert [row.subject_id for p in pages for row in p.subjects] == [subjects[c] for c in BY_CODE]
    past_the_end = _page(sc, offset=7, limit=3)
    assert (past_the_end.subjects, past_the_end.total) == ((), 7)
    assert _codes(_page(sc, offset=0, limit=MAX_PAGE)) == BY_CODE
    # Nobody is allocated yet: the trial's numbers and the first few to allocate.
    assert (whole.subject_count, whole.allocated, whole.frozen, whole.unallocated) == (7, 0, 0, 7)
    assert whole.first_unallocated == tuple(BY_CODE[: allocation_list.GENERATE_PREVIEW])
    assert (whole.block_size, whole.period2_week) == (4, 24)


def test_search_ignores_case_spaces_and_dashes_and_takes_wildcards_literally(
    sc: Scenario, subjects: dict[str, int]
) -> None:
    found = _page(sc, search="tls-00")
    assert (_codes(found), found.total) == (["TLS-001", "TLS-002", "TLS-003"], 3)
    assert _codes(_page(sc, search=" t l s - 1 ")) == ["TLS-100"]
    # The dash as typed, left out or pasted from a document.
    for typed in ("tls 003", "tls003", "TLS–003", "TLS—003", "TLS−003", "TLS‐003"):
        found = _page(sc, search=typed)
        assert (_codes(found), found.total) == (["TLS-003"], 1), typed
    assert _codes(_page(sc, search="C1")) == ["ABC-10"]  # across the dash
    assert _codes(_page(sc, search="10")) == ["ABC-10", "TLS-010", "TLS-100", "XY-100"]
    # A search pages like the whole list, and its total counts the matches only; the
    # trial's numbers stay those of every subject.
    second = _page(sc, search="TLS", offset=2, limit=2)
    assert (_codes(second), second.total, second.subject_count) == (["TLS-003", "TLS-010"], 5, 7)
    # % and _ are not wildcards; quotes and backslashes are only text.
    for typed in (
        "%",
        "_",
        "TLS%1",
        "TLS_001",
        "TLS%001",
        "T%",
        "'",
        "''",
        '"',
        "TLS-001'",
        "\\",
        "\\%",
        "' OR '1'='1",
        "%'; DROP TABLE subject; --",
    ):
        page = _page(sc, search=typed)
        assert (page.subjects, page.total) == ((), 0), typed
    assert _page(sc, search="").total == 7
    assert _page(sc, search="   ").total == 7
    assert _page(sc, search=" " * 100).total == 7  # spaces do not count towards the limit
    assert _page(sc, search=" - – ").total == 7  # nor do dashes
    assert _page(sc, search="–".join("9" * MAX_SEARCH)).total == 0


def test_each_subject_shows_sequence_frozen_flag_and_visits(
    sc: Scenario, subjects: dict[str, int]
) -> None:
    today = utcnow().date()
    v1, _ = sc.enrol(subjects["TLS-001"], MSC_FIRST, today)
    lot_id, _ = sc.made_lot(subjects["TLS-002"])  # the weight a dispensing needs
    sc.release(lot_id)
    placebo_visit, _ = sc.enrol(subjects["TLS-002"], PLACEBO_FIRST, today)
    sc.dispense(placebo_visit)
    page = _page(sc, search="TLS-00")
    rows = {row.code: row for row in page.subjects}
    first, second, third = rows["TLS-001"], rows["TLS-002"], rows["TLS-003"]
    assert (first.sequence, first.source, first.frozen) == (MSC_FIRST, "sealed list (demo)", False)
    assert [(v.visit_id, v.period, v.planned_date, v.status) for v in first.visits][0] == (
        v1,
        1,
        today,
        "planned",
    )
    assert [v.period for v in first.visits] == [1, 2]
    assert first.can_schedule is False
    assert (second.sequence, second.frozen) == (PLACEBO_FIRST, True)
    assert [v.status for v in second.visits] == ["dispensed", "planned"]
    assert (third.sequence, third.frozen, third.visits, third.allocated) == (None, False, (), False)
    assert (page.subject_count, page.allocated, page.frozen, page.unallocated) == (7, 2, 1, 5)
    assert page.first_unallocated == ("ABC-10", "TLS-003", "TLS-010", "TLS-100", "XY-100")
    # The page holds what the whole list (the command line's) holds for the same subjects.
    with sc.db.reader() as s:
        whole = allocation_list.allocation_list(s, sc.cast.who("pharmacist"))
    assert [r for r in whole.subjects if r.code.startswith("TLS-00")] == list(page.subjects)


def test_a_page_costs_the_same_statements_whatever_its_length(
    sc: Scenario, subjects: dict[str, int]
) -> None:
    today = utcnow().date()
    for code in ("TLS-001", "TLS-002", "TLS-003"):
        sc.enrol(subjects[code], MSC_FIRST, today)
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    counts = []
    event.listen(sc.db.engine, "before_cursor_execute", count)
    try:
        for limit in (1, 3, 7):
            sent.clear()
            assert len(_page(sc, limit=limit).subjects) == limit
            counts.append(len(sent))
    finally:
        event.remove(sc.db.engine, "before_cursor_execute", count)
    assert counts[0] == counts[1] == counts[2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "is not a page"),
        ({"limit": MAX_PAGE + 1}, "is not a page"),
        ({"offset": -1}, "is not a page"),
        (
            {"search": "T" * (MAX_SEARCH + 1)},
            f"Search: at most {MAX_SEARCH} characters (a subject code is no longer).",
        ),
        ({"search": "TLS\x00"}, 'Search: "TLS\\x00" contains control or invisible characters.'),
        ({"search": "TLS\x1b[31m"}, 'Search: "TLS\\x1b[31m" contains control or invisible'),
        ({"search": "\u200bTLS"}, 'Search: "\\u200bTLS" contains control or invisible'),
        ({"search": 7}, 'Search: "7" is not text.'),
    ],
)
def test_a_bad_page_or_search_is_refused(
    sc: Scenario, subjects: dict[str, int], kwargs: dict[str, Any], message: str
) -> None:
    """The same refusal on both backends (PostgreSQL text cannot hold a NUL: a search
    holding one is refused before it is sent), with the field it is about."""
    with pytest.raises(ValidationError, match=re.escape(message)) as refused:
        _page(sc, **kwargs)
    assert refused.value.field == ("Search" if "search" in kwargs else "Page")


@pytest.mark.parametrize("role", ["clinician", "investigator", "technician", "qa"])
def test_blinded_roles_are_refused_before_anything_is_read(sc: Scenario, role: str) -> None:
    sc.subject("TLS-001", DOB)
    with pytest.raises(PermissionDenied, match="allocation"):
        _page(sc, role)
    # The permission comes first: a bad page does not tell them anything either.
    with pytest.raises(PermissionDenied):
        _page(sc, role, limit=0, search="T" * 100)
