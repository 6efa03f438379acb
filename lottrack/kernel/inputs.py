"""Free-text input rules every service applies (what the quantity parser is for numbers)."""

from __future__ import annotations

import unicodedata

from lottrack.kernel.errors import ValidationError


def show(text: str, limit: int = 40) -> str:
    """Text as it can be quoted back in a message: shortened, control characters escaped."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in shown
    )


def check_page(limit: object, offset: object, *, most: int, noun: str) -> None:
    """Refuse a page that is not ``1``–``most`` ``noun`` from ``0`` or more (whole numbers)."""
    if (
        not isinstance(limit, int)
        or not isinstance(offset, int)
        or not 1 <= limit <= most
        or offset < 0
    ):
        raise ValidationError(
            f"Page: {show(str(limit), 20)} {noun} from {show(str(offset), 20)} is not a "
            f"page; expected 1 to {most} {noun} from 0 or more.",
            field="Page",
        )


def clean_text(value: str, field: str, *, max_length: int, required: bool = True) -> str:
    """One line of free text with runs of spaces collapsed; refused when empty (if
    ``required``), too long or holding control or invisible characters."""
    if not isinstance(value, str):
        raise ValidationError(f"{field}: {value!r} is not text.", field=field)
    text = " ".join(value.split())
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ValidationError(
            f'{field}: "{show(text)}" contains control or invisible characters.', field=field
        )
    if required and not text:
        raise ValidationError(f"{field}: nothing was typed; it is required.", field=field)
    if len(text) > max_length:
        raise ValidationError(
            f'{field}: "{show(text)}" is {len(text)} characters long; at '
            f"most {max_length} are kept.",
            field=field,
        )
    return text


def clean_paragraphs(value: str, field: str, *, max_length: int, required: bool = True) -> str:
    """Several lines of free text (a justification, reactions): line breaks kept, each
    line cleaned like :func:`clean_text`."""
    if not isinstance(value, str):
        raise ValidationError(f"{field}: {value!r} is not text.", field=field)
    lines = [
        clean_text(line, field, max_length=max_length, required=False)
        for line in value.strip().splitlines()
    ]
    text = "\n".join(lines).strip()
    if required and not text:
        raise ValidationError(f"{field}: nothing was typed; it is required.", field=field)
    if len(text) > max_length:
        raise ValidationError(
            f"{field}: {len(text)} characters; at most {max_length} are kept.", field=field
        )
    return text


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape ``\\``) matching ``text`` anywhere; wildcards typed are
    searched for as typed."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
