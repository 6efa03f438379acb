"""The lines that name a lot at the top of its batch record and of its QA review: number,
status, subject, DIN and progress; and whether it is ready for release."""

from __future__ import annotations

from rich.text import Text

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.isbt128 import parse_din
from lottrack.manufacturing import qc
from tui.lot import tables as lot_tables
from tui.lot.detail_data import LotRecord
from tui.widgets.status_badge import status_text


def plural(n: int, word: str) -> str:
    """``1 bag``, ``2 bags``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def eye_readable(din: str) -> str:
    """``A9999 26 000001``: the DIN as printed on labels."""
    try:
        return parse_din(din).eye_readable()
    except ValidationError:
        return din


def lot_head(lot: LotRecord, clock_tz: object) -> Text:
    """Two lines naming the lot: number, status, subject, DIN, and how far it got."""
    s = lot.summary
    head = Text()
    head.append(s.lot_number, style="bold")
    head.append("  ")
    head.append_text(status_text(s.status))
    head.append(f"  subject {s.subject_code} · {s.coi_id} · spec v{s.spec_version}\n")
    collected = s.collected_at.astimezone(clock_tz).strftime("%Y-%m-%d")  # type: ignore[arg-type]
    cpd = lot_tables.number(s.cumulative_population_doublings, s.decimal_separator).plain
    passages = f"P0–{s.last_passage}" if s.passages > 1 else s.last_passage or "no passage"
    if s.passages and not s.last_passage_harvested:
        passages += " growing"
    head.append(
        f"DIN {eye_readable(s.din)} ({collected}) · {passages} · cum. PD {cpd} · "
        f"{plural(s.counts, 'count')} · {plural(s.units, 'bag')}",
        style="dim",
    )
    if s.counts_needing_recount:
        head.append(f" · {s.counts_needing_recount} RECOUNT", style="bold red")
    return head


def readiness_text(ready: qc.ReleaseReadiness) -> Text:
    """Ready for release, or what is missing and what is out of specification."""
    if ready.ready:
        return Text("Every required result is in and conforms.", style="bold green")
    text = Text()
    if ready.open_records:
        text.append("OPEN, BLOCKS RELEASE: " + "; ".join(ready.open_records), style="bold red")
    if ready.out_of_spec:
        if text:
            text.append("\n")
        text.append("OUT OF SPECIFICATION: " + "; ".join(ready.out_of_spec), style="bold red")
    if ready.missing:
        if text:
            text.append("\n")
        text.append("Missing: " + ", ".join(ready.missing), style="yellow")
    return text
