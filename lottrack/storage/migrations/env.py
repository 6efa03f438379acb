"""Alembic environment: runs on the connection lottrack hands it (see lottrack.storage.schema)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel

import lottrack.storage.models  # noqa: F401  (fills the metadata)
from lottrack.storage.models.base import UTCDateTime

target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: Any, _autogen_context: Any) -> str | bool:
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__name__ == "AutoString":
        length = getattr(obj, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    return False


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from lottrack.storage.db import make_engine

        engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
