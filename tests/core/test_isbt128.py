"""ISBT 128 DINs: MOD 37-2 check characters, the printed and scanned forms, bad input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.isbt128 import (
    CheckCharacterMismatch,
    Din,
    check_character,
    format_din,
    parse_din,
    read_din,
)

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"


@pytest.mark.parametrize(("din", "check"), [("G123498654321", "H"), ("G123417654321", "A")])
def test_published_check_character_vectors(din: str, check: str) -> None:
    assert check_character(din) == check


def test_forms_of_the_same_din() -> None:
    din = parse_din("G123498654321")
    assert (din.fin, din.year, din.sequence, din.code) == ("G1234", "98", "654321", "G123498654321")
    assert din.check == "H"
    assert din.checksum == 17
    assert din.eye_readable() == "G1234 98 654321"
    assert din.barcode_data() == "=G12349865432100"
    assert din.flag_for_checksum() == "77"
    assert din.barcode_data(din.flag_for_checksum()) == "=G12349865432177"
    assert din.with_check() == "G123498654321H"
    for text in [
        "G123498654321H",
        "G1234 98 654321 H",
        "G1234 98 654321",
        "g123498654321h",
        "=G12349865432100",
        "=G12349865432177",
        " G123498654321 H ",
    ]:
        assert parse_din(text) == din, text


def test_read_din_tells_whether_a_check_was_verified() -> None:
    assert read_din("G123498654321H").check_verified
    assert read_din("=G12349865432177").check_verified
    assert not read_din("=G12349865432100").check_verified
    assert not read_din("G1234 98 654321").check_verified


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "G123498654321A",
            'check character "A" does not match G1234 98 654321; its check character is "H"',
        ),
        ("G1234 98 654321 A", 'check character "A" does not match'),
        ("=G12349865432178", "check flag 78 does not match G1234 98 654321; its check flag is 77"),
    ],
)
def test_wrong_check_is_a_mismatch(text: str, message: str) -> None:
    with pytest.raises(CheckCharacterMismatch, match=message):
        parse_din(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "O123498654321",
            'position 1 (facility code) is "O"; it must be a letter A–N or P–Z or a '
            "digit 1–9 (never O or 0)",
        ),
        ("0123498654321", 'position 1 (facility code) is "0"'),
        (
            "G12O498654321",
            'position 4 (facility code) is "O"; it must be a digit or a letter other than O',
        ),
        ("G1234X8654321", 'position 6 (year) is "X"; it must be a digit'),
        ("G12349865432Z", 'position 13 (sequence) is "Z"; it must be a digit'),
        ("G1234*8654321", 'position 6 (year) is "*"'),
        ("G1234", 'DIN: "G1234" has 5 characters; a DIN has 13'),
        ("", "nothing was given"),
        ("G123498654321!", 'check character "!" in "G123498654321!" is not 0–9, A–Z or *'),
        ("=G1234986543210", "has 14 characters after"),
        ("=G1234986543210X", 'flag characters "0X" are not two digits'),
        ("G1234 98 654321 \x00", 'check character "\\x00"'),
        ("X" * 100, "100 characters long"),
    ],
)
def test_malformed_input_names_the_position_and_character(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        parse_din(text)
    assert not isinstance(caught.value, CheckCharacterMismatch)
    assert caught.value.message.startswith("DIN: ")


def test_non_ascii_letters_are_not_upper_cased_into_a_valid_din() -> None:
    # "ß".upper() == "SS": a naive upper() would make a 13-character text 14 long.
    with pytest.raises(ValidationError, match='position 1 .* is "ß"'):
        parse_din("ß234986543210")


def test_check_character_refuses_a_malformed_din() -> None:
    with pytest.raises(ValidationError, match='position 1 .* is "O"'):
        check_character("O123498654321")


def test_format_din_and_constructor_checks() -> None:
    assert format_din("G1234", 98, 654321) == "G123498654321"
    assert format_din("g1234", 5, 42) == "G123405000042"
    with pytest.raises(ValidationError, match="year 100 is not two digits"):
        format_din("G1234", 100, 1)
    with pytest.raises(ValidationError, match="sequence 1000000 is not six digits"):
        format_din("G1234", 25, 1_000_000)
    with pytest.raises(ValidationError, match="position 1"):
        Din("O1234", "25", "000001")
    with pytest.raises(ValidationError, match="not split"):
        Din("G123", "425", "000001")
    with pytest.raises(ValidationError, match="upper case"):
        Din("g1234", "25", "000001")


_FIN_FIRST = "ABCDEFGHIJKLMNPQRSTUVWXYZ123456789"
_FIN_OTHER = "0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ"
_DINS = st.builds(
    lambda first, rest, year, seq: Din(first + rest, f"{year:02d}", f"{seq:06d}"),
    st.sampled_from(_FIN_FIRST),
    st.text(alphabet=_FIN_OTHER, min_size=4, max_size=4),
    st.integers(0, 99),
    st.integers(0, 999_999),
)


@settings(max_examples=300, deadline=None)
@given(din=_DINS)
def test_random_dins_round_trip_through_every_form(din: Din) -> None:
    assert parse_din(f"{din.eye_readable()} {din.check}") == din
    assert parse_din(din.eye_readable()) == din
    assert parse_din(din.with_check()) == din
    assert parse_din(din.barcode_data()) == din
    assert parse_din(din.barcode_data(din.flag_for_checksum())) == din
    assert 60 <= int(din.flag_for_checksum()) <= 96
    assert format_din(din.fin, int(din.year), int(din.sequence)) == din.code


@settings(max_examples=40, deadline=None)
@given(din=_DINS)
def test_every_single_character_substitution_is_caught(din: Din) -> None:
    text = din.with_check()
    for position in range(14):
        for replacement in ALPHABET:
            if replacement == text[position]:
                continue
            altered = text[:position] + replacement + text[position + 1 :]
            with pytest.raises(ValidationError):
                parse_din(altered)
