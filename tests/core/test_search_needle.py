"""The lists' one search rule (lottrack.kernel.inputs.search_needle): what a typed search
looks for — capitals, no spaces, no dashes — and the refusals every list gives alike."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.inputs import DASHES, like_pattern, like_scattered, search_needle

CODES = st.from_regex(r"[A-Z]{2,6}-[0-9]{2,6}", fullmatch=True)
"""Subject codes as lottrack.facility.subjects accepts them."""
SEPARATORS = st.text(alphabet=sorted(DASHES) + [" ", "\t", "\u00a0", "\u3000"], max_size=3)
"""What a person may type or paste between the characters of a code: spaces and dashes."""


def _like(value: str, pattern: str) -> bool:
    """``value LIKE pattern ESCAPE '\\'`` (case-sensitive, as on PostgreSQL)."""
    parts = re.split(r"(\\.|%|_)", pattern)
    regex = "".join(
        ".*" if p == "%" else "." if p == "_" else re.escape(p[1:] if p[:1] == "\\" else p)
        for p in parts
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _hidden(ch: str) -> bool:
    return unicodedata.category(ch).startswith("C") and not ch.isspace()


@pytest.mark.parametrize(
    "typed",
    ["TLS-003", "tls 003", "tls003", "TLS–003", "TLS—003", "TLS−003", " t l s ‐ 0 0 3 "],
)
def test_a_code_is_found_however_its_dash_and_spaces_are_typed(typed: str) -> None:
    assert search_needle(typed, max_length=32) == "TLS003"


def test_wildcards_quotes_and_backslashes_are_kept_as_typed() -> None:
    # like_pattern escapes them; the needle keeps them (only spaces and dashes go).
    assert search_needle(" tls_0%3 '\\ ", max_length=32) == "TLS_0%3'\\"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (7, 'Search: "7" is not text.'),
        (None, 'Search: "None" is not text.'),
        ("TLS\x00", 'Search: "TLS\\x00" contains control or invisible characters.'),
        ("TLS\x1b[31m", 'Search: "TLS\\x1b[31m" contains control or invisible characters.'),
        ("\u200bTLS", 'Search: "\\u200bTLS" contains control or invisible characters.'),
        ("TLS\u00ad003", 'Search: "TLS\\xad003" contains control or invisible characters.'),
        ("T" * 33, "Search: at most 32 characters."),
    ],
)
def test_refusals_name_the_search_and_say_why(typed: object, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        search_needle(typed, max_length=32)
    assert (info.value.message, info.value.field) == (message, "Search")


@given(st.text(alphabet="AB%_\\-", max_size=6), st.text(alphabet="AB%_\\-", max_size=8))
def test_the_patterns_take_wildcards_literally_and_scattered_finds_every_undashed_match(
    needle: str, value: str
) -> None:
    assert _like(value, like_pattern(needle)) == (needle in value)
    if needle in value.replace("-", ""):
        assert _like(value, like_scattered(needle))
    assert _like(value, like_scattered(needle)) == _in_order(needle, value)


def _in_order(needle: str, value: str) -> bool:
    rest = iter(value)
    return all(ch in rest for ch in needle)


def test_the_length_counts_neither_spaces_nor_dashes_and_can_say_why() -> None:
    assert search_needle(" - ".join("T" * 32), max_length=32) == "T" * 32
    with pytest.raises(ValidationError, match=re.escape("(a subject code is no longer).")):
        search_needle("T" * 33, max_length=32, hint="a subject code is no longer")


@given(st.text(max_size=80))
@settings(max_examples=500)
def test_any_text_gives_a_needle_of_capitals_without_spaces_or_dashes_or_a_refusal(
    typed: str,
) -> None:
    if any(_hidden(ch) for ch in typed):
        with pytest.raises(ValidationError, match="^Search: .* invisible characters\\.$") as no:
            search_needle(typed, max_length=40)
        assert no.value.field == "Search"
        return
    needle = search_needle(typed, max_length=3 * 80)  # upper() makes at most three of one
    assert not any(ch.isspace() or ch in DASHES for ch in needle)
    assert needle == needle.upper()
    assert len(needle) <= len(typed.upper())


@given(code=CODES, data=st.data())
def test_a_code_or_any_part_of_it_finds_it_under_any_spaces_and_dashes(
    code: str, data: st.DataObject
) -> None:
    """What the lists compare: the needle in the code without its dash (SQL's
    ``replace(code, '-', '')``)."""
    start = data.draw(st.integers(0, len(code) - 1))
    end = data.draw(st.integers(start + 1, len(code)))
    part = code[start:end].lower() if data.draw(st.booleans()) else code[start:end]
    typed = "".join(data.draw(SEPARATORS) + ch for ch in part) + data.draw(SEPARATORS)
    needle = search_needle(typed, max_length=32)
    assert needle in code.replace("-", "")
    # What SQL is sent: the scattered test lets the code through, then the pattern finds
    # the needle in the code without its dash.
    assert _like(code, like_scattered(needle))
    assert _like(code.replace("-", ""), like_pattern(needle))
    if part == code or part.upper() == code:
        assert needle == code.replace("-", "")
