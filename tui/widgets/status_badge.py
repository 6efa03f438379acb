"""Lot, reagent and bag statuses as short coloured words (readable without colour too)."""

from __future__ import annotations

from rich.text import Text

STATUS_STYLES: dict[str, str] = {
    "in-process": "bold cyan",
    "awaiting-release": "bold yellow",
    "released": "bold green",
    "released-exceptional": "bold magenta",
    "rejected": "bold red",
    "quarantined": "bold red",
    "quarantine": "yellow",
    "available": "green",
    "dispensed": "cyan",
    "infused": "dim",
    "expired": "red",
    "destroyed": "red",
}
"""Style per status; the word itself always says the status (no colour-only meaning)."""

SHORT: dict[str, str] = {
    "awaiting-release": "awaiting release",
    "released-exceptional": "released (exc.)",
}


def status_text(status: str, *, short: bool = False) -> Text:
    """``status`` styled for a table cell; ``short`` uses the compact wording."""
    label = SHORT.get(status, status) if short else status
    return Text(label, style=STATUS_STYLES.get(status, ""))


def conformity_text(conforms: bool | None, *, superseded: bool = False) -> Text:
    """✓ conforms / ✗ OUT OF SPEC / report only; a superseded result is dimmed."""
    if conforms is None:
        text = Text("report only", style="dim")
    elif conforms:
        text = Text("✓ conforms", style="green")
    else:
        text = Text("✗ OUT OF SPEC", style="bold red")
    if superseded:
        text = Text(f"{text.plain} (superseded)", style="dim strike")
    return text
