"""Reading documents back: the text of each page, as pypdf extracts it."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

from pypdf import PdfReader

TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:\s+\d{2}:\d{2}\s+[A-Z]{2,5})?")


def pages(pdf: bytes) -> list[str]:
    """The text of every page, whitespace runs collapsed to one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def text(pdf: bytes) -> str:
    """The text of the whole document (pages joined by a form feed)."""
    return "\f".join(pages(pdf))


def masked(pdf: bytes, identifiers: Iterable[str]) -> list[str]:
    """Page texts with every identifier and every date/time replaced by a placeholder."""
    out = []
    for page in pages(pdf):
        for ident in sorted(identifiers, key=len, reverse=True):
            page = page.replace(ident, "<ID>")
        out.append(TIME.sub("<TIME>", page))
    return out
