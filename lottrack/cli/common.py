"""What every command shares: the chosen database, reading passwords, showing errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from lottrack.kernel import environment
from lottrack.kernel.errors import LotTrackError, NotInitialised, ValidationError

if TYPE_CHECKING:  # the database layer is imported when a command needs it (fast --help)
    from sqlmodel import Session

    from lottrack.records.permissions import CurrentUser
    from lottrack.storage.db import Database

EXIT_BAD_INPUT = 2

AsOpt = Annotated[str | None, typer.Option("--as", help="Your username (else $LOTTRACK_USER).")]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read your password from standard input.")
]


@dataclass
class State:
    """Options given before the command."""

    db_url: str | None = None
    demo: bool = False
    _stdin_lines: list[str] | None = field(default=None, repr=False)

    def url(self) -> str:
        """--db, else the demo database with --demo, else $LOTTRACK_DATABASE_URL or default."""
        from lottrack.kernel.locations import default_url, demo_url, normalise_url

        if self.db_url:
            return normalise_url(self.db_url)
        if self.demo:
            return demo_url()
        return default_url()

    def database(self, *, initialised: bool = True) -> Database:
        """Open the chosen database; unless ``initialised`` is False (``init``, ``demo``),
        one that ``lottrack init`` never created is refused and nothing is created."""
        from lottrack.storage.db import Database, open_initialised

        return open_initialised(self.url()) if initialised else Database(self.url())

    def stdin_line(self) -> str:
        """The next line of standard input (for ``--password-stdin``)."""
        if self._stdin_lines is None:
            self._stdin_lines = sys.stdin.read().splitlines()
        if not self._stdin_lines:
            raise ValidationError(
                "Password: expected another line on standard input.", field="password"
            )
        return self._stdin_lines.pop(0)


def read_password(state: State, prompt: str, *, from_stdin: bool, confirm: bool = False) -> str:
    """A password from stdin (one line each) or an interactive prompt that does not echo."""
    if from_stdin:
        return state.stdin_line()
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return value


def acting_user_name(given: str | None) -> str:
    """The person running an administrative command: --as, else $LOTTRACK_USER, else $USER."""
    env = environment.read()
    name = given or env.user or env.login_user or ""
    if not name:
        raise ValidationError("Give your username with --as USER.", field="as")
    return name


def error_line(exc: LotTrackError) -> str:
    """How an error reads on stderr: one line, also when the message quotes typed text
    holding line breaks."""
    return " ".join(f"error: {exc.title}: {exc.message}".split())


@contextmanager
def fail_on_error() -> Iterator[None]:
    """Turn a LotTrackError into one line on stderr and exit 2 (bad input, no database)
    or 1."""
    try:
        yield
    except (ValidationError, NotInitialised) as exc:
        typer.echo(error_line(exc), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except LotTrackError as exc:
        typer.echo(error_line(exc), err=True)
        raise typer.Exit(1) from None


def login(
    state: State, as_user: str | None, *, password_stdin: bool
) -> tuple[Database, CurrentUser]:
    """Authenticate the person running a command (password prompt or first stdin line)."""
    from lottrack.records.accounts import PasswordExpired, authenticate

    db = state.database()  # a missing database is said before the password is asked
    name = acting_user_name(as_user)
    password = read_password(state, f"Password for {name}", from_stdin=password_stdin)
    try:
        with db.session() as session:
            who = authenticate(session, name, password, via="command line")
    except PasswordExpired as exc:  # the first login of an account an admin set up, too
        raise PasswordExpired(f"{exc.message} Run: lottrack user passwd {name}") from None
    return db, who


@contextmanager
def logged_in(
    ctx: typer.Context, as_user: str | None, *, password_stdin: bool
) -> Iterator[tuple[Database, CurrentUser]]:
    """The database and the person running the command, once authenticated; inside, a
    LotTrackError ends the command with one line on stderr (:func:`fail_on_error`)."""
    state: State = ctx.obj
    with fail_on_error():
        yield login(state, as_user, password_stdin=password_stdin)


@contextmanager
def session_as(
    ctx: typer.Context, as_user: str | None, *, password_stdin: bool, reader: bool = False
) -> Iterator[tuple[Session, CurrentUser]]:
    """:func:`logged_in`, then one session (committed when the block ends; ``reader``: a
    read-only one) for the service calls of the command."""
    with (
        logged_in(ctx, as_user, password_stdin=password_stdin) as (db, who),
        db.reader() if reader else db.session() as session,
    ):
        yield session, who
