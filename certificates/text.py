"""Text forms shared by every renderer, PDF or ZPL: local times, numbers, quantities and
the QR payload. No reportlab here, so the thermal-printer labels load without it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache

from lottrack.kernel.units import Dim, format_number, format_quantity
from lottrack.views.documents.data import DocumentData


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_moment(moment: dt.datetime, data: DocumentData) -> dt.datetime:
    """``moment`` in the site's time zone."""
    return moment.astimezone(_zone(data.timezone))


def local_time(moment: dt.datetime | None, data: DocumentData, *, empty: str = "—") -> str:
    """``2024-05-02 10:15 CEST``: the site's local time with its zone abbreviation."""
    if moment is None:
        return empty
    return local_moment(moment, data).strftime("%Y-%m-%d %H:%M %Z")


def local_time_cell(moment: dt.datetime | None, data: DocumentData) -> str:
    """A local time as two escaped lines (date, time) for narrow table cells."""
    text = local_time(moment, data)
    return text.replace(" ", "<br/>", 1) if moment is not None else text


def number(value: float | None, data: DocumentData, *, sig: int = 3) -> str:
    """A number with the site's decimal separator (``1.72 × 10⁶``); ``—`` for None."""
    if value is None:
        return "—"
    return format_number(value, decimal_separator=data.decimal_separator, sig=sig)


def fixed(value: float | None, data: DocumentData, *, places: int = 2) -> str:
    """A number with a fixed count of decimals (population doublings, hours)."""
    if value is None:
        return "—"
    return f"{value:.{places}f}".replace(".", data.decimal_separator)


def quantity(value: float | None, dim: Dim, data: DocumentData, *, sig: int = 3) -> str:
    """A canonical value with its unit (``95 mL``); ``—`` for None."""
    if value is None:
        return "—"
    return format_quantity(value, dim, decimal_separator=data.decimal_separator, sig=sig)


def qr_payload(data: DocumentData) -> str:
    """What the QR code carries: the document id and the certified content hash, in
    upper case so that the code uses the compact alphanumeric mode."""
    return f"LOTTRACK:{data.document_id}:SHA256:{data.content_sha256.upper()}"
