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


DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
"""The hyphens and dashes a search ignores: ASCII ``-`` and those pasted from documents
(hyphen, non-breaking hyphen, figure dash, en and em dash, horizontal bar, minus sign,
and their small and full-width forms)."""


def search_needle(search: object, *, max_length: int, hint: str = "") -> str:
    """What a typed search looks for (the lists' one search rule): its text in capitals
    without spaces or dashes (``" tls–003"`` → ``TLS003``), to be compared with columns
    whose dashes are removed too. Refused (field ``Search``) when it is not text, holds
    control or invisible characters, or is longer than ``max_length`` characters once its
    spaces and dashes are gone; ``hint`` says why the limit in that refusal (``a subject
    code is no longer``)."""
    if not isinstance(search, str):
        raise ValidationError(f'Search: "{show(str(search))}" is not text.', field="Search")
    typed = " ".join(search.split())
    if any(unicodedata.category(ch).startswith("C") for ch in typed):
        raise ValidationError(
            f'Search: "{show(typed)}" contains control or invisible characters.', field="Search"
        )
    needle = "".join(ch for ch in typed.upper() if ch != " " and ch not in DASHES)
    if len(needle) > max_length:
        why = f" ({hint})" if hint else ""
        raise ValidationError(f"Search: at most {max_length} characters{why}.", field="Search")
    return needle


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape ``\\``) matching ``text`` anywhere; wildcards typed are
    searched for as typed."""
    return f"%{_like_escaped(text)}%"


def like_scattered(text: str) -> str:
    """A LIKE pattern (escape ``\\``) matching ``text``'s characters in order with anything
    between (``T0`` → ``%T%0%``): true of every value that holds ``text`` once its dashes
    are removed, so a cheap first test before removing them
    (:func:`lottrack.storage.search.undashed_contains`)."""
    return "%" + "".join(f"{_like_escaped(ch)}%" for ch in text)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
