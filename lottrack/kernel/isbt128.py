"""ISBT 128 donation identification numbers (design §4).

A DIN is 13 characters ``αppppyynnnnnn``: a 5-character facility identification number
(FIN), a 2-digit year and a 6-digit sequence. Its check character follows ISO/IEC 7064
MOD 37-2 and is printed boxed beside the eye-readable form, never inside the barcode.
Barcode data is ``=`` + DIN + two flag characters: ``00`` by default, or ``60``–``96`` =
60 + the checksum value.

Input is accepted as the 13 characters, 14 with the check character, the eye-readable
``G1234 98 654321 H`` or the barcode data ``=G12349865432100``; lower-case letters are
read as upper case. A check character or check flag that does not match raises
:class:`CheckCharacterMismatch` (the text is well formed but wrong); any other problem
raises :class:`~lottrack.kernel.errors.ValidationError` naming the position and character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lottrack.kernel.errors import ValidationError

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
_VALUE = {ch: i for i, ch in enumerate(_ALPHABET)}
_DIGITS = frozenset("0123456789")
_FIN_FIRST = frozenset("ABCDEFGHIJKLMNPQRSTUVWXYZ123456789")
_FIN_OTHER = frozenset("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ")
_EYE_READABLE = re.compile(r"(\S{5}) +(\S{2}) +(\S{6})(?: +(\S))?|(\S{13}) +(\S)")
_CHECK_FLAGS = range(60, 97)
MAX_DIN_TEXT = 64


class CheckCharacterMismatch(ValidationError):
    """A well-formed DIN whose check character or check flag does not match."""

    title = "Check character wrong"


def _show(text: str) -> str:
    """Text for a message, with invisible characters escaped."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _validate_code(code: str, field: str = "DIN") -> str:
    """Return ``code`` (upper-cased) if it is a structurally valid 13-character DIN."""
    if len(code) != 13:
        raise ValidationError(
            f'{field}: "{_show(code[:40])}" has {len(code)} characters; a DIN has 13 '
            "(5-character facility code, 2-digit year, 6-digit sequence).",
            field=field,
        )
    # Only ASCII letters are upper-cased: "ß".upper() is two characters.
    code = "".join(ch.upper() if "a" <= ch <= "z" else ch for ch in code)
    first = code[0]
    if first not in _FIN_FIRST:
        raise ValidationError(
            f'{field}: position 1 (facility code) is "{_show(first)}"; it must be a letter '
            "A–N or P–Z or a digit 1–9 (never O or 0).",
            field=field,
        )
    for pos in range(1, 5):
        if code[pos] not in _FIN_OTHER:
            raise ValidationError(
                f'{field}: position {pos + 1} (facility code) is "{_show(code[pos])}"; it '
                "must be a digit or a letter other than O.",
                field=field,
            )
    for pos, part in [(p, "year") for p in (5, 6)] + [(p, "sequence") for p in range(7, 13)]:
        if code[pos] not in _DIGITS:
            raise ValidationError(
                f'{field}: position {pos + 1} ({part}) is "{_show(code[pos])}"; it must be a '
                "digit.",
                field=field,
            )
    return code


def _checksum(code: str) -> int:
    p = 0
    for ch in code:
        p = ((p + _VALUE[ch]) * 2) % 37
    return (38 - p) % 37


def check_character(din13: str) -> str:
    """ISO/IEC 7064 MOD 37-2 check character of a 13-character DIN (``G123498654321`` →
    ``H``)."""
    return _ALPHABET[_checksum(_validate_code(din13))]


@dataclass(frozen=True)
class Din:
    """A structurally valid DIN; the check character is derived, never stored apart."""

    fin: str
    year: str
    sequence: str

    def __post_init__(self) -> None:
        if _validate_code(self.code) != self.code:
            raise ValidationError(
                f'DIN: "{_show(self.code)}" must be written in upper case.', field="DIN"
            )
        if len(self.fin) != 5 or len(self.year) != 2:
            raise ValidationError(
                f'DIN: "{_show(self.code)}" is not split as facility code (5), '
                "year (2), sequence (6).",
                field="DIN",
            )

    @property
    def code(self) -> str:
        """The 13 characters, as encoded in the barcode."""
        return self.fin + self.year + self.sequence

    @property
    def checksum(self) -> int:
        """MOD 37-2 checksum value, 0–36."""
        return _checksum(self.code)

    @property
    def check(self) -> str:
        """The check character printed in a box beside the eye-readable form."""
        return _ALPHABET[self.checksum]

    def eye_readable(self) -> str:
        """``G1234 98 654321`` (the check character is printed separately, boxed)."""
        return f"{self.fin} {self.year} {self.sequence}"

    def with_check(self) -> str:
        """The 14 characters: DIN followed by its check character."""
        return self.code + self.check

    def flag_for_checksum(self) -> str:
        """The flag pair that carries the checksum in barcode data: 60 + checksum."""
        return f"{60 + self.checksum:02d}"

    def barcode_data(self, flag: str = "00") -> str:
        """Code 128 data ``=`` + DIN + flag characters (``00``, or the checksum flag)."""
        if not re.fullmatch(r"[0-9]{2}", flag):
            raise ValueError(f"flag must be two digits, not {flag!r}")
        if int(flag) in _CHECK_FLAGS and flag != self.flag_for_checksum():
            raise ValueError(
                f"flag {flag} is a check flag; this DIN's is {self.flag_for_checksum()}"
            )
        return f"={self.code}{flag}"

    def __str__(self) -> str:
        return f"{self.eye_readable()} {self.check}"


def format_din(fin: str, year: int | str, sequence: int | str) -> str:
    """The 13-character DIN from its parts: ``format_din("G1234", 98, 654321)``."""
    year_text = f"{year:02d}" if isinstance(year, int) else year
    seq_text = f"{sequence:06d}" if isinstance(sequence, int) else sequence
    if isinstance(year, int) and not 0 <= year <= 99:
        raise ValidationError(f"DIN: year {year} is not two digits.", field="DIN")
    if isinstance(sequence, int) and not 0 <= sequence <= 999_999:
        raise ValidationError(f"DIN: sequence {sequence} is not six digits.", field="DIN")
    if len(fin) != 5:
        raise ValidationError(
            f'DIN: facility code "{fin}" has {len(fin)} characters; it has 5.', field="DIN"
        )
    return Din(fin.upper(), year_text, seq_text).code


def _din(code: str) -> Din:
    code = _validate_code(code)
    return Din(code[:5], code[5:7], code[7:])


def _verify_check(din: Din, given: str, text: str) -> None:
    given = given.upper()
    if given not in _VALUE:
        raise ValidationError(
            f'DIN: check character "{_show(given)}" in "{_show(text)}" is not 0–9, A–Z or *.',
            field="DIN",
        )
    if given != din.check:
        raise CheckCharacterMismatch(
            f'DIN: check character "{given}" does not match {din.eye_readable()}; its check '
            f'character is "{din.check}". The DIN or the check character was mistyped.',
            field="DIN",
        )


@dataclass(frozen=True)
class DinReading:
    """A DIN read from text, and whether the text carried a check that was verified."""

    din: Din
    check_verified: bool


def parse_din(text: str) -> Din:
    """Read a DIN from any of its printed or scanned forms and verify any check it carries.

    Accepts ``G123498654321``, ``G123498654321H``, ``G1234 98 654321 H`` (check optional)
    and ``=G12349865432100`` (flag ``60``–``96`` is verified against the checksum). Raises
    :class:`CheckCharacterMismatch` for a wrong check character or flag and
    :class:`~lottrack.kernel.errors.ValidationError` for malformed text.
    """
    return read_din(text).din


def read_din(text: str) -> DinReading:
    """As :func:`parse_din`, also telling whether a check character or flag was present."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(
            "DIN: nothing was given; expected 13 characters such as G123498654321.", field="DIN"
        )
    if len(text) > MAX_DIN_TEXT:
        raise ValidationError(
            f"DIN: the text is {len(text)} characters long; a DIN has 13.", field="DIN"
        )
    s = text.strip()
    if s.startswith("="):
        body = s[1:]
        if len(body) != 15:
            raise ValidationError(
                f'DIN: barcode data "{_show(s)}" has {len(body)} characters after "="; '
                "expected 13 DIN characters and 2 flag digits.",
                field="DIN",
            )
        din, flag = _din(body[:13]), body[13:]
        if not re.fullmatch(r"[0-9]{2}", flag):
            raise ValidationError(
                f'DIN: flag characters "{_show(flag)}" are not two digits.', field="DIN"
            )
        if int(flag) in _CHECK_FLAGS and flag != din.flag_for_checksum():
            raise CheckCharacterMismatch(
                f"DIN: check flag {flag} does not match {din.eye_readable()}; its check flag "
                f"is {din.flag_for_checksum()}.",
                field="DIN",
            )
        return DinReading(din, int(flag) in _CHECK_FLAGS)
    eye = _EYE_READABLE.fullmatch(s)
    if eye is not None:
        din = _din(eye[5] or "".join(eye.group(1, 2, 3)))
        given = eye[6] or eye[4]
        if given is not None:
            _verify_check(din, given, s)
        return DinReading(din, given is not None)
    if len(s) == 14:
        din = _din(s[:13])
        _verify_check(din, s[13], s)
        return DinReading(din, True)
    return DinReading(_din(s), False)
