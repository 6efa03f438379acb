"""One transaction of bulk rows: ids, rows, and the audit events the services would write.

A :class:`Batch` collects rows as a subject's journey produces them, step by step. Each
step stands for one ORM flush of the real service (a flush by one person), so the audit
events come out in the order :func:`lottrack.storage.audit._after_flush` gives them: steps in
order, and inside a step by table (parents first) and then by primary key. An insert is
audited with every non-null column; an update with the columns whose canonical value
changed, and the reason. Every event carries the SHA-256 of the row as it stood after
it, and :func:`lottrack.storage.audit.append_events` chains them, so ``lottrack audit verify``
treats bulk rows exactly like rows the services wrote.

Rows are inserted with SQLAlchemy Core in two stages, because some signatures cover
records that have to be in the database first (the batch record a release signs is read
back with :func:`lottrack.release.batch_record.lot_content`):

* stage A: every table but ``signature``, ``disposition`` and ``infusion``; columns that
  point at a signature not yet written are inserted empty (:data:`DEFERRED`);
* stage B: the signatures (their content hash computed now), dispositions, infusions,
  and an UPDATE that fills the deferred columns.

The batch assumes it is the only writer (a demo build): ids continue from ``max(id)``
under the SQLite write lock, or under PostgreSQL table locks, after which each id
sequence is moved past the ids used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlmodel import Session, SQLModel

from lottrack.storage import audit
from lottrack.storage.models import DinCounter, utcnow

STAGE_B = ("signature", "disposition", "infusion")
"""Tables written after the signatures' content can be read back."""
DEFERRED: Mapping[str, tuple[str, ...]] = {
    "dispensing": ("prepared_signature_id", "verified_signature_id"),
    "investigation": ("signature_id",),
    "deviation": ("signature_id",),
}
"""Columns inserted empty in stage A and filled in stage B (they name a signature)."""
SIGNED_CONTENT = ("investigation", "deviation")
"""Tables whose signature column is filled before any signature's content is read: a
lot's content (what its release signature hashes) includes the signature that closed each
of its investigations and deviations."""
_REQUIRED = object()
_GENERATED = object()
Actor = tuple[int | None, str]
ContentFn = Callable[[Session], Mapping[str, Any]]


def table(name: str) -> Table:
    """The table called ``name`` in lottrack's metadata."""
    return SQLModel.metadata.tables[name]


@cache
def _table_order() -> dict[str, int]:
    return {t.name: i for i, t in enumerate(SQLModel.metadata.sorted_tables)}


@cache
def _defaults(name: str) -> dict[str, Any]:
    """Per column: its scalar default, ``None`` when nullable, or a marker that the
    journey must give a value (required, or a default computed at insert time)."""
    out: dict[str, Any] = {}
    for column in table(name).columns:
        default = column.default
        if default is None:
            out[column.name] = None if column.nullable else _REQUIRED
        elif getattr(default, "is_scalar", False):
            out[column.name] = getattr(default, "arg", None)
        else:
            out[column.name] = _GENERATED
    return out


@dataclass
class _Event:
    step: int
    order: int
    sort_pk: str
    pk: str
    table: Table
    action: str
    values: dict[str, Any]
    """insert: the row as inserted (the row itself for a signature); update: the change"""
    reason: str
    actor: Actor


@dataclass
class _Signed:
    row: dict[str, Any]
    content: ContentFn


class Batch:
    """Rows and audit events of one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._next_id: dict[str, int] = {}
        self._events: list[_Event] = []
        self._signed: list[_Signed] = []
        self._step = 0
        self._actor: Actor = (None, "")
        self._din_seq: dict[tuple[str, int], int] = {}
        self._din_start: dict[tuple[str, int], int] = {}

    # ------------------------------------------------------------------ building

    def step(self, actor: Actor) -> None:
        """Start a new flush made by ``actor`` (user id, username)."""
        self._step += 1
        self._actor = actor

    def new_id(self, name: str) -> int:
        """The next free id of table ``name``."""
        if name not in self._next_id:
            t = table(name)
            top = self.conn.execute(select(func.max(t.c.id))).scalar()
            self._next_id[name] = int(top or 0) + 1
        value = self._next_id[name]
        self._next_id[name] = value + 1
        return value

    def add(self, name: str, values: Mapping[str, Any], *, live: bool = False) -> dict[str, Any]:
        """Insert a row of table ``name`` (id given or assigned) and audit it in the current
        step; returns the row, which later :meth:`update` calls change. ``live`` audits the
        row object itself rather than a copy (a signature, whose content hash is filled in
        stage B and which never changes afterwards)."""
        row: dict[str, Any] = {}
        for column, default in _defaults(name).items():
            if column in values:
                row[column] = values[column]
            elif column == "id":
                row[column] = self.new_id(name)
            elif default is _REQUIRED or default is _GENERATED:
                raise ValueError(f"bulk {name}: no value for {column}")
            else:
                row[column] = default
        unknown = set(values) - set(row)
        if unknown:
            raise ValueError(f"bulk {name}: no columns {sorted(unknown)}")
        if "password_hash" in row:  # masked in the trail; bulk rows never hold one
            raise ValueError(f"bulk {name}: accounts are created through the services")
        self.rows[name].append(row)
        self._audit(name, row, "insert", row if live else dict(row), "")
        return row

    def update(self, name: str, row: dict[str, Any], reason: str, **changes: Any) -> None:
        """Change a row added earlier, audited with ``reason`` in the current step."""
        if not reason:
            raise ValueError("an update of a saved record needs a reason")
        row.update(changes)
        self._audit(name, row, "update", dict(changes), reason)

    def sign(self, values: Mapping[str, Any], content: ContentFn) -> dict[str, Any]:
        """Add a signature whose ``content_sha256`` is computed in stage B from
        ``content(session)``, once the signed record is in the database."""
        row = self.add("signature", {**values, "content_sha256": ""}, live=True)
        self._signed.append(_Signed(row, content))
        return row

    def din_sequence(self, fin: str, year: int) -> int:
        """The next DIN sequence number of ``fin`` in two-digit ``year``."""
        key = (fin, year)
        if key not in self._din_seq:
            t = table("din_counter")
            last = self.conn.execute(
                select(t.c.last_sequence).where(t.c.fin == fin, t.c.year == year)
            ).scalar()
            self._din_start[key] = -1 if last is None else int(last)
            self._din_seq[key] = int(last or 0)
        self._din_seq[key] += 1
        return self._din_seq[key]

    def _audit(
        self, name: str, row: Mapping[str, Any], action: str, values: dict[str, Any], reason: str
    ) -> None:
        if not self._actor[1]:
            raise ValueError("bulk rows need a person: call step() first")
        pk = str(row["id"])
        self._events.append(
            _Event(
                self._step,
                _table_order()[name],
                pk.zfill(20),
                pk,
                table(name),
                action,
                values,
                reason,
                self._actor,
            )
        )

    # ------------------------------------------------------------------- writing

    def write(self) -> int:
        """Insert everything (stage A, signatures, stage B), move the DIN counters and
        append the audit events; returns the number of events."""
        names = [t.name for t in SQLModel.metadata.sorted_tables if self.rows.get(t.name)]
        self._lock([*names, "din_counter"])
        for name in names:
            if name not in STAGE_B:
                self._insert(name, deferred=DEFERRED.get(name, ()))
        if self._signed:  # signatures first, their hash still empty (filled just below)
            self._insert("signature")
            for name in SIGNED_CONTENT:
                self._fill_deferred(name, DEFERRED[name])
        with Session(bind=self.conn) as session:
            for signed in self._signed:
                signed.row["content_sha256"] = audit.sha256_of(signed.content(session))
        if self._signed:
            t = table("signature")
            self.conn.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(content_sha256=bindparam("b_sha")),
                [
                    {"b_id": signed.row["id"], "b_sha": signed.row["content_sha256"]}
                    for signed in self._signed
                ],
            )
        for name in names:
            if name in STAGE_B and not (name == "signature" and self._signed):
                self._insert(name)
        for name, columns in DEFERRED.items():
            if name not in SIGNED_CONTENT or not self._signed:
                self._fill_deferred(name, columns)
        self._write_din_counters()
        self._move_sequences(names)
        events = list(self._render())
        audit.append_events(self.conn, events)
        return len(events)

    def _lock(self, names: Iterable[str]) -> None:
        if self.conn.dialect.name == "postgresql":
            quoted = ", ".join(f'"{n}"' for n in names)
            self.conn.exec_driver_sql(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE")

    def _insert(self, name: str, deferred: tuple[str, ...] = ()) -> None:
        rows = self.rows[name]
        if deferred:
            rows = [{**r, **dict.fromkeys(deferred)} for r in rows]
        self.conn.execute(table(name).insert(), rows)

    def _fill_deferred(self, name: str, columns: tuple[str, ...]) -> None:
        rows = [r for r in self.rows.get(name, ()) if any(r[c] is not None for c in columns)]
        if not rows:
            return
        t = table(name)
        stmt = (
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in columns})
        )
        self.conn.execute(
            stmt, [{"b_id": r["id"], **{f"b_{c}": r[c] for c in columns}} for r in rows]
        )

    def _write_din_counters(self) -> None:
        t = DinCounter.__table__  # type: ignore[attr-defined]
        for (fin, year), last in self._din_seq.items():
            if self._din_start[(fin, year)] < 0:
                self.conn.execute(t.insert().values(fin=fin, year=year, last_sequence=last))
            else:
                self.conn.execute(
                    update(t).where(t.c.fin == fin, t.c.year == year).values(last_sequence=last)
                )

    def _move_sequences(self, names: Iterable[str]) -> None:
        if self.conn.dialect.name != "postgresql":
            return
        for name in names:
            self.conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                f'(SELECT max(id) FROM "{name}"))'
            )

    def _render(self) -> Iterable[dict[str, Any]]:
        """The audit events, in flush order, as :func:`lottrack.storage.audit.append_events`
        takes them."""
        self._events.sort(key=lambda e: (e.step, e.order, e.sort_pk))
        state: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        for ev in self._events:
            key = (ev.table.name, ev.pk)
            if ev.action == "insert":
                values = ev.values
                content = audit.row_content(ev.table, values)
                changes = {k: [None, v] for k, v in content.items() if v is not None}
            else:
                old_values, old = state[key]
                values = {**old_values, **ev.values}
                content = audit.row_content(ev.table, values)
                changes = {k: [old[k], content[k]] for k in ev.values if old[k] != content[k]}
                if not changes:
                    continue
            state[key] = (values, content)
            yield {
                "at": utcnow(),
                "user_id": ev.actor[0],
                "username": ev.actor[1],
                "action": ev.action,
                "entity": ev.table.name,
                "entity_id": ev.pk,
                "changes": audit.canonical_json(changes),
                "reason": ev.reason,
                "row_hash": audit.sha256_of(content),
            }
