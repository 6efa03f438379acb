"""The ``lottrack`` command (design.md §11).

Start-up stays light: ``lottrack --help``, ``dose-check`` and ``din`` run in about the time
of a bare Typer app or of pint alone (``bench/bench_startup.py``). This module imports every
command module; a command module imports at its top only typer, the standard library and the
light lottrack modules (``lottrack.cli.common``, ``lottrack.kernel.errors``,
``lottrack.kernel.locations``, ``lottrack.kernel.isbt128``,
``lottrack.views.documents.signing``). Everything else -- the database layer (SQLAlchemy,
SQLModel, the models, Alembic), the services, pint (``lottrack.kernel.units``,
``lottrack.kernel.calc``), argon2, reportlab, pyHanko, the terminal UI -- is imported inside
the function of the command that uses it, and types named in annotations come under ``if
TYPE_CHECKING:``. A module that defines commands does not use ``from __future__ import
annotations``: Typer reads every command's parameters to build even the top ``--help``,
and annotations left as text it compiles and evaluates twice each (a third of ``--help``'s
own time); so a name imported under ``TYPE_CHECKING`` is quoted where it is used. A new
command follows the same shape::

    @thing_app.command("check")
    def check(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
        # the docstring, then:
        from lottrack import things  # the service, and through it the database layer

        state: State = ctx.obj
        with fail_on_error():
            ...

``tests/cli/test_startup_imports.py`` checks that importing this package loads none of
the heavy libraries, and that ``dose-check`` and ``din`` never load SQLAlchemy. The
program's entry point is :mod:`lottrack.launch`: it answers ``dose-check`` with plain
options before this package (Typer, every command module) loads, and hands every other
command line to :func:`main`.
"""

from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from lottrack.cli.backup import backup
from lottrack.cli.certificates import certificate_app
from lottrack.cli.common import EXIT_BAD_INPUT, State, fail_on_error
from lottrack.cli.din import din_app
from lottrack.cli.doctor import doctor
from lottrack.cli.dose import dose_check
from lottrack.cli.export import export
from lottrack.cli.serve import serve
from lottrack.cli.setup import demo, init
from lottrack.cli.specs import spec_app
from lottrack.cli.trial_cmds import allocation_app, visits_app
from lottrack.cli.users import user_app
from lottrack.cli.validate import validate
from lottrack.cli.verify import audit_app
from lottrack.cli.weights import weight_app

if TYPE_CHECKING:
    from typer._click import Context as ClickContext  # typer ships its own click


class _Commands(TyperGroup):
    """The command group; it refuses an argument holding bytes that are not UTF-8 (they
    reach Python as lone surrogates): such text can be neither stored nor printed, so it
    is refused here, once for every command, before it reaches a service."""

    def parse_args(self, ctx: "ClickContext", args: list[str]) -> list[str]:
        for argument in args:
            if any("\ud800" <= ch <= "\udfff" for ch in argument):
                typer.echo(
                    f"error: Invalid input: {ascii(argument)[:80]} is not UTF-8 text.", err=True
                )
                raise typer.Exit(EXIT_BAD_INPUT)
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_Commands,
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
        typer.Option(
            "--db",
            help="Database URL or SQLite file (else $LOTTRACK_DATABASE_URL, "
            "else a file in the user data directory).",
        ),
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
app.command("doctor")(doctor)
app.command("validate")(validate)
app.command("serve")(serve)
app.add_typer(certificate_app, name="certificate")
app.add_typer(spec_app, name="spec")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(allocation_app, name="allocation")
app.add_typer(visits_app, name="visits")
app.add_typer(weight_app, name="weight")
app.command("dose-check")(dose_check)
app.add_typer(din_app, name="din")


def main() -> None:
    """Console-script entry point: logging is configured here, once (lottrack.kernel.logs)."""
    from lottrack.kernel import logs

    logs.configure()
    app(prog_name="lottrack")


if __name__ == "__main__":  # pragma: no cover
    main()
