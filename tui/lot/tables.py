"""Fill the batch-record tables (timeline, passages, counts, QC, bags, custody, decisions,
audit trail) from a :class:`~tui.lot.detail_data.LotRecord` (or the batch record, a
:class:`~tui.lot.detail_data.LotDetail`).

Shared by the lot detail and the QA review so that both show the same record the same
way: times in the terminal's zone, quantities with the site's decimal separator,
conformity and signature validity in words as well as colour.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from rich.text import Text
from textual.widgets import DataTable

from lottrack.kernel.units import Dim, format_number, format_quantity
from tui.lot.detail_data import LotDetail, LotRecord
from tui.widgets.status_badge import conformity_text, status_text
from tui.widgets.wrapped_rows import WrappedRow, add_wrapped_row, add_wrapped_rows, grow_first

Table = DataTable[Text]
SHORT = "%m-%d %H:%M"
LONG = "%Y-%m-%d %H:%M"


def when(moment: dt.datetime | None, tz: dt.tzinfo | None, fmt: str = LONG) -> Text:
    """A time in the terminal's zone, or a dash."""
    return Text(moment.astimezone(tz).strftime(fmt) if moment else "—")


def number(value: float | None, sep: str, sig: int = 3) -> Text:
    """``1.72 × 10⁶`` with the site's separator, or a dash."""
    return Text("—" if value is None else format_number(value, decimal_separator=sep, sig=sig))


def _reset(table: Table, *columns: str | tuple[str, int]) -> None:
    table.clear(columns=True)
    for column in columns:
        if isinstance(column, tuple):
            table.add_column(column[0], width=column[1])
        else:
            table.add_column(column)


def _empty(table: Table, text: str) -> None:
    """An empty table says so in its first row (a wrapped row: a table that wraps its rows
    again when its width changes keeps it)."""
    if table.row_count == 0:
        add_wrapped_row(
            table,
            Text(text, style="dim italic"),
            *(Text("") for _ in range(len(table.columns) - 1)),
        )


def fill_timeline(table: Table, lot: LotDetail, tz: dt.tzinfo | None) -> None:
    """When, what, by whom."""
    _reset(table, "When", "What", "By")
    for entry in lot.timeline:
        table.add_row(when(entry.at, tz), Text(entry.what), Text(entry.by))
    _empty(table, "Nothing yet.")


def compact(value: float | None, sep: str) -> Text:
    """``5.00×10⁶``: a number for a narrow column."""
    return Text(number(value, sep).plain.replace(" × ", "×"))


def hours(value: float | None, sep: str) -> Text:
    """A doubling time in whole hours (``465``, ``32``): never a power of ten in a narrow
    column (``4.65 × 10²`` was cut to ``4.65 ×``)."""
    if value is None:
        return Text("—")
    return Text(f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}".replace(".", sep))


def fill_passages(table: Table, lot: LotRecord, tz: dt.tzinfo | None) -> None:
    """Seeding and harvest (each a time over its cells), viability and the derived PD,
    cumulative PD (cPD), doubling time (DT, hours) and seeding density: every column fits
    80 columns. The reagent lots, too long for a column, are in :func:`reagents_text`."""
    sep = lot.summary.decimal_separator
    _reset(
        table, ("P", 2), ("Seeded", 11), ("Harvested", 11), "Viab.", "PD", "cPD", "DT h", "Per cm²"
    )
    rows: list[WrappedRow] = []
    for p in lot.passages:
        harvested = (
            Text("—")
            if p.harvested_at is None
            else Text(f"{when(p.harvested_at, tz, SHORT)}\n{compact(p.cells_harvested, sep)}")
        )
        rows.append(
            (
                (
                    Text(p.label, style="bold"),
                    Text(f"{when(p.seeded_at, tz, SHORT)}\n{compact(p.cells_seeded, sep)}"),
                    harvested,
                    Text("—" if p.viability_pct is None else f"{number(p.viability_pct, sep)} %"),
                    number(p.population_doublings, sep),
                    number(p.cumulative_population_doublings, sep),
                    hours(p.doubling_time_hours, sep),
                    compact(p.seeding_density_per_cm2, sep),
                ),
                str(p.id),
            )
        )
    add_wrapped_rows(table, rows)
    _empty(table, "No passage")


def reagents_text(lot: LotRecord) -> Text:
    """The reagent lots each passage used, a line per passage (wrapping as it must)."""
    text = Text()
    text.append("Reagent lots", style="bold")
    for p in lot.passages:
        text.append(f"\n{p.label}: ", style="bold")
        text.append(", ".join(p.reagent_lots) or "—")
    return text if lot.passages else Text("")


def fill_counts(table: Table, lot: LotRecord, tz: dt.tzinfo | None) -> None:
    """Each count set, then its replicates indented under it; recount and void marked."""
    sep = lot.summary.decimal_separator
    # What a count found; the method and each replicate as typed are on the line under
    # the table for the highlighted row (count_detail): they ran off 80 columns.
    _reset(
        table,
        ("Counted", 11),
        ("Of", 13),
        "Viable/mL",
        "Viab.",
        "CV",
        ("Flag", 8),
        ("By", 6),
    )
    rows: list[WrappedRow] = []
    for c in lot.counts:
        of = f"{c.passage_label} harvest" if c.passage_label else c.target
        if c.voided_reason:
            flag = Text(f"VOID: {c.voided_reason}", style="dim")
        elif c.recount_required:
            flag = Text("RECOUNT", style="bold red")
        else:
            flag = Text("ok", style="green")
        rows.append(
            (
                (
                    when(c.counted_at, tz, SHORT),
                    Text(of),
                    compact(c.mean_viable_per_ml, sep),
                    Text(f"{number(c.viability_pct, sep)} %"),
                    Text(
                        f"{number(c.cv_pct, sep)} %", style="bold red" if c.recount_required else ""
                    ),
                    flag,
                    Text(c.counted_by),
                ),
                f"count-{c.id}",
            )
        )
        for r in c.replicates:
            rows.append(
                (
                    (
                        Text(""),
                        Text(f"  rep. {r.position}", style="dim"),
                        compact(r.viable_per_ml, sep),
                        Text(f"{number(r.viability_pct, sep)} %", style="dim"),
                        Text(""),
                        Text(""),
                        Text(""),
                    ),
                    f"count-{c.id}-{r.position}",
                )
            )
    add_wrapped_rows(table, rows)
    _empty(table, "No count")


def count_detail(lot: LotRecord, key: str | None, tz: dt.tzinfo | None) -> Text:
    """The line under the counts for the highlighted row: a count's method, who and when;
    a replicate as it was typed."""
    parts = (key or "").split("-")
    count = next((c for c in lot.counts if parts[1:2] == [str(c.id)]), None)
    if count is None:
        return Text("")
    of = f"{count.passage_label} harvest" if count.passage_label else count.target
    if len(parts) == 3:
        rep = next((r for r in count.replicates if str(r.position) == parts[2]), None)
        if rep is not None:
            text = Text(f"Replicate {rep.position} of the count of {of}, as typed: ")
            return text.append(rep.entered_text or "—", style="bold")
    text = Text(f"Count of {of}, ")
    text.append(when(count.counted_at, tz))
    text.append(f", by {count.counted_by}: ")
    text.append(count.method, style="bold")
    if count.voided_reason:
        text.append(f" · VOID: {count.voided_reason}", style="dim")
    return text


def fill_results(table: Table, lot: LotRecord, tz: dt.tzinfo | None) -> None:
    """Every QC result; out of specification in red, superseded results struck through,
    voided results dim and marked VOID with the reason (they count for nothing)."""
    _reset(
        table,
        ("Test", 11),
        ("Result", 9),
        ("Conformity", 10),
        ("Limit", 9),
        ("Tested", 11),
        ("Note", 10),
    )  # the note takes the room left, wrapped: at 80 columns 14, "(investigation" whole;
    grow_first(table, 0, 1, 3, 2)  # room to spare goes to whole words, then whole names
    rows: list[WrappedRow] = []
    for r in lot.results:
        void = r.voided_reason is not None
        style = "dim" if r.superseded or void else ("bold red" if r.conforms is False else "")
        note = [f"VOID: {r.voided_reason}"] if void else []
        if r.investigation_note:
            note.append(r.investigation_note)
        elif r.retest_of_id:
            note.append(f"retest of #{r.retest_of_id}")
        if not r.required:
            note.append("not required")
        rows.append(
            (
                (
                    Text(r.test_name, style=style),
                    Text(r.value_text, style=style),
                    Text("VOID", style="dim")
                    if void
                    else conformity_text(r.conforms, superseded=r.superseded),
                    Text(r.limit_text),
                    when(r.tested_at, tz, SHORT),
                    Text(", ".join(note), style="dim"),
                ),
                str(r.id),
            )
        )
    add_wrapped_rows(table, rows)
    _empty(table, "No result")


def fill_bags(table: Table, lot: LotDetail, tz: dt.tzinfo | None) -> None:
    """Kit code, status (and when a cryopreserved bag was thawed: it must be used soon, so
    this fits 80 columns), product code, volume, viable cells, expiry, storage."""
    sep = lot.summary.decimal_separator
    _reset(table, "Kit code", "Status", "Product", "Volume", "Viable cells", "Expires", "Storage")
    for b in lot.bags:
        status = status_text(b.status)
        if b.thawed_at is not None:
            status.append(f" · thawed {when(b.thawed_at, tz, SHORT)}", style="bold")
        table.add_row(
            Text(b.kit_code, style="bold"),
            status,
            Text(b.product_code),
            Text(format_quantity(b.volume_ml, Dim.VOLUME, decimal_separator=sep)),
            number(b.viable_cells, sep),
            when(b.expires_at, tz),
            Text(b.storage),
            key=str(b.id),
        )
    _empty(table, "No bag")


def fill_custody(table: Table, lot: LotDetail, tz: dt.tzinfo | None) -> None:
    """Every move of every bag."""
    _reset(table, "At", "Bag", "From", "To", "Temp.", "By")
    for e in lot.custody:
        table.add_row(
            when(e.at, tz),
            Text(e.kit_code),
            Text(e.from_location),
            Text(e.to_location),
            Text(e.temperature_text or "—"),
            Text(e.by),
        )
    _empty(table, "No move")


def fill_decisions(table: Table, lot: LotRecord, tz: dt.tzinfo | None) -> None:
    """Each QA decision with its signature, valid or INVALIDATED."""
    _reset(
        table,
        ("Decided", 11),
        ("Decision", 9),
        ("Signature", 11),
        ("Signed by", 9),
        ("Meaning", 11),
        ("Justification", 13),
    )
    rows: list[WrappedRow] = []
    for d in lot.decisions:
        sig = d.signature
        if sig is None:
            signer, meaning, state = Text("—"), Text("—"), Text("unsigned", style="bold red")
        else:
            signer, meaning = Text(sig.printed_name), Text(sig.meaning_text)
            state = (
                Text("valid", style="bold green")
                if sig.valid
                else Text("INVALIDATED", style="bold red reverse")
            )
        justification = d.justification
        if d.exceptional is not None:
            justification = f"EXCEPTIONAL (Part IV §11.5): {justification}"
        rows.append(
            (
                (
                    when(d.decided_at, tz, SHORT),
                    status_text(d.decision),
                    state,
                    signer,
                    meaning,
                    Text(justification),
                ),
                None,
            )
        )
    add_wrapped_rows(table, rows)
    _empty(table, "No decision")


def fill_quality(table: Table, lot: LotRecord, tz: dt.tzinfo | None) -> None:
    """OOS investigations and deviations: open ones in bold red (they block release),
    closed ones with their conclusion and who signed it."""
    _reset(
        table, ("Record", 16), ("Opened", 11), ("What", 15), ("State", 9), ("Conclusion", 10)
    )  # at 80 columns the conclusion gets 15 ("specification):" whole); room to spare goes
    grow_first(table, 2, 4)  # to whole words, then "What" on one line, then the conclusion
    rows: list[WrappedRow] = []
    for inv in lot.investigations:
        retests = "; ".join(f"retest {r.value_text}: {r.reason}" for r in inv.retests)
        rows.append(
            (
                (
                    Text(f"Investigation #{inv.id}"),
                    when(inv.opened_at, tz, SHORT),
                    Text(inv.result_text + (f" — {retests}" if retests else "")),
                    Text("OPEN", style="bold red")
                    if inv.is_open
                    else Text(f"closed by {inv.closed_by}", style="green"),
                    Text(
                        "—"  # the State column says OPEN
                        if inv.is_open
                        else inv.summary.split(" — ", 1)[1]
                        + (f": {inv.conclusion_text}" if inv.conclusion_text else "")
                    ),
                ),
                f"investigation-{inv.id}",
            )
        )
    for dev in lot.deviations:
        kind = "planned" if dev.planned else "unplanned"
        rows.append(
            (
                (
                    Text(f"Deviation #{dev.id} ({kind})"),
                    when(dev.opened_at, tz, SHORT),
                    Text(
                        f"{dev.description} — impact: {dev.impact} — "
                        f"action: {dev.corrective_action}"
                    ),
                    Text("OPEN", style="bold red")
                    if dev.is_open
                    else Text(f"closed by {dev.closed_by}", style="green"),
                    Text(dev.closure),
                ),
                f"deviation-{dev.id}",
            )
        )
    add_wrapped_rows(table, rows)
    _empty(table, "None recorded")


def open_quality_record(lot: LotRecord, key: str | None) -> tuple[str, int, str] | None:
    """(kind, id, summary) of the open record under ``key`` (a quality-table row key), or
    of the first open one when the key names none."""
    records = [("investigation", i.id, i.summary) for i in lot.investigations if i.is_open]
    records += [("deviation", d.id, d.summary) for d in lot.deviations if d.is_open]
    chosen = [r for r in records if f"{r[0]}-{r[1]}" == key]
    return next(iter(chosen or records), None)


AUDIT_COLUMNS = (("#", 5), ("At", 11), ("Person", 8), ("Action", 10), ("Record", 16))
"""An audit list's columns (a longer value wraps); the record's name takes the room left
and, with room to spare, a person's and an action's name are whole first. The reason and
the changes of the highlighted event are on the line under the list."""


def audit_columns(table: Table) -> None:
    """Set an audit list's :data:`AUDIT_COLUMNS`."""
    table.clear(columns=True)
    for label, width in AUDIT_COLUMNS:
        table.add_column(label, key=label.casefold(), width=width)
    grow_first(table, 2, 3, 4)


def fill_audit(table: Table, lot: LotRecord, tz: dt.tzinfo | None) -> None:
    """The lot's audit trail; a change to a value already recorded is marked ✎."""
    audit_columns(table)
    add_wrapped_rows(
        table,
        (
            (
                (
                    Text(str(e.seq)),
                    when(e.at, tz, SHORT),
                    Text(e.username),
                    Text(
                        ("✎ " if e.changed_after_entry else "") + e.action,
                        style="bold yellow" if e.changed_after_entry else "",
                    ),
                    Text(e.record),
                ),
                str(e.seq),
            )
            for e in lot.audit or ()
        ),
    )


def audit_event_text(
    *,
    head: str,
    reason: str,
    changes: Mapping[str, object],
    tz: dt.tzinfo | None,
    corrected: bool = False,
    full: bool = False,
) -> Text:
    """An audit event for a person: ``head`` ("#52 insert Harvest of TLS-002 … by tech"),
    the ✎ mark of a correction, the reason, the changes (on the line under a list, or
    ``full``: one change a line, for the event opened with Enter)."""
    text = Text(head, style="bold")
    if corrected:
        text.append("  ✎ changed after first entry", style="bold yellow")
    if reason:
        text.append(f"\nReason: {reason}")
    shown = audit_changes(changes, tz=tz, sep="\n" if full else "; ")
    if shown:
        text.append("\n" + shown, style="dim")
    return text


def audit_changes(
    changes: Mapping[str, object], *, tz: dt.tzinfo | None = None, sep: str = "; "
) -> str:
    """``field: old → new`` for changes, ``field=value`` for first entries and for the
    plain values of events that change no record (a verification's counts), joined by
    ``sep``; ids left out. Moments (stored as UTC ISO text) read in ``tz``, to the second:
    ``collected_at=2026-11-21 06:48:48 CET``, not ``2026-11-21T05:48:48.630594Z``."""
    return sep.join(
        _change(k, _moment(v, tz), _moment(_old(v), tz)) for k, v in changes.items() if k != "id"
    )


_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _old(value: object) -> object:
    return value[0] if isinstance(value, (list, tuple)) and len(value) == 2 else None


def _moment(value: object, tz: dt.tzinfo | None) -> object:
    """A stored instant as a person reads it in ``tz``; anything else (and the new value
    of a change, its second item) as it is."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return _moment(value[1], tz)
    if tz is None or not isinstance(value, str) or not _INSTANT.fullmatch(value):
        return value
    return dt.datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def _change(field: str, value: object, old: object) -> str:
    if old not in (None, ""):
        return f"{field}: {old} → {value}"
    return f"{field}={value}"
