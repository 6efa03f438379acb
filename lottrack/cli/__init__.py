"""The ``lottrack`` command (design.md §11)."""

from __future__ import annotations

from typing import Annotated

import typer

from lottrack.cli.backup import backup
from lottrack.cli.certificates import certificate_app
from lottrack.cli.common import State, fail_on_error
from lottrack.cli.export import export
from lottrack.cli.setup import demo, init
from lottrack.cli.specs import spec_app
from lottrack.cli.trial_cmds import allocation_app, visits_app
from lottrack.cli.users import user_app
from lottrack.cli.verify import audit_app

app = typer.Typer(
    name="lottrack",
    help="Chain of identity and GMP batch records for autologous MSC products.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL or SQLite file (else $LOTTRACK_DATABASE_URL, "
                     "else a file in the user data directory)."),
    ] = None,
    open_demo: Annotated[
        bool, typer.Option("--demo", help="Open the demo database (built on first use).")
    ] = False,
) -> None:
    """With no command, opens the terminal UI."""
    ctx.obj = State(db_url=db, demo=open_demo)
    if ctx.invoked_subcommand is None:
        _open_tui(ctx.obj)


def _open_tui(state: State) -> None:
    from lottrack.cli.setup import ensure_demo

    if state.demo:
        ensure_demo(state)
    with fail_on_error():
        from tui.app import run_app

        run_app(state.url())


@app.command("tui")
def tui(ctx: typer.Context) -> None:
    """Open the terminal UI."""
    _open_tui(ctx.obj)


app.command("init")(init)
app.command("demo")(demo)
app.command("export")(export)
app.command("backup")(backup)
app.add_typer(certificate_app, name="certificate")
app.add_typer(spec_app, name="spec")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(allocation_app, name="allocation")
app.add_typer(visits_app, name="visits")

try:  # the units/ISBT commands live in their own modules
    from lottrack.cli.din import din_app
    from lottrack.cli.dose import dose_check

    app.command("dose-check")(dose_check)
    app.add_typer(din_app, name="din")
except ImportError:  # pragma: no cover - only while those modules are being written
    pass


def main() -> None:
    """Console-script entry point."""
    app(prog_name="lottrack")


if __name__ == "__main__":  # pragma: no cover
    main()
