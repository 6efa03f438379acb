"""Fixtures for the terminal UI: a real SQLite demo file per test, a frozen clock, no blink.

The demo is built once per session (argon2 hashing makes it take a second) and copied for
each test, so every test starts from the same accounts and owns its file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from textual.widgets import Input

from lottrack.demo import database as demo
from lottrack.storage import anchors
from lottrack.storage.db import Database
from lottrack.storage.models import User
from tests.tui.helpers import frozen_clock
from tui.app import LotTrackApp, make_app


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the input cursor steadily visible so screenshots do not depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo database file built for the whole session; the audit checkpoints its
    signatures take go to its folder, beside it."""
    path = tmp_path_factory.mktemp("template") / "demo.db"
    db = Database(f"sqlite:///{path}")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(anchors.CHECKPOINT_DIR_ENV, str(path.parent))
        demo.build(db)
    db.dispose()
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path, checkpoint_dir: Path) -> Iterator[Database]:
    """A private copy of the demo database (always named ``demo.db`` for the header), and
    of its checkpoint file (into the test's checkpoint folder)."""
    target = tmp_path / "demo.db"
    for suffix in ("", "-wal"):
        source = Path(f"{demo_template}{suffix}")
        if source.exists():
            shutil.copy(source, Path(f"{target}{suffix}"))
    for checkpoints in demo_template.parent.glob("audit-*.checkpoints"):
        shutil.copy(checkpoints, checkpoint_dir / checkpoints.name)
    db = Database(f"sqlite:///{target}")
    yield db
    db.dispose()


@pytest.fixture
def app(demo_db: Database) -> LotTrackApp:
    """The app users get, on the demo copy, with the frozen clock."""
    return make_app(demo_db, clock=frozen_clock)


@pytest.fixture
def user_row(demo_db: Database) -> Callable[[str], User]:
    """Read an account straight from the database (a detached copy)."""

    def _read(username: str) -> User:
        with demo_db.reader() as session:
            user = session.exec(select(User).where(User.username == username)).one()
            session.expunge(user)
            return user

    return _read
