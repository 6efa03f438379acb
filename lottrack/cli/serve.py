"""``lottrack serve``: the terminal UI in a browser (textual-serve), for the ward's tablet.

Each browser session runs its own ``lottrack tui`` process behind a websocket, so the
login, blinding, idle logout and every rule behave exactly as in a terminal. The server
listens on localhost by default: put a reverse proxy with TLS in front of it (README,
"The bedside in a browser"); the database URL reaches the sessions through the
environment, never their command line.
"""

import os
import shlex
import sys
from typing import Annotated

import typer

from lottrack.cli.common import State, fail_on_error

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8000


def session_command() -> str:
    """What each browser session runs: this interpreter's ``lottrack tui``."""
    return f"{shlex.quote(sys.executable)} -m lottrack tui"


def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Interface to listen on (localhost: only a local reverse proxy reaches it).",
        ),
    ] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = DEFAULT_PORT,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="The address browsers use, behind the reverse proxy "
            "(https://ward.example.org); else http://HOST:PORT.",
        ),
    ] = None,
) -> None:
    """Serve the terminal UI to browsers (each session logs in as in a terminal)."""
    from lottrack.storage.db import ENV_URL

    state: State = ctx.obj
    if state.demo:
        from lottrack.cli.setup import ensure_demo

        ensure_demo(state)
    with fail_on_error():
        state.database().dispose()  # refused, creating nothing, before lottrack init
    os.environ[ENV_URL] = state.url()  # the sessions inherit it
    from textual_serve.server import Server

    Server(
        session_command(),
        host=host,
        port=port,
        title="lottrack",
        public_url=public_url.rstrip("/") if public_url else None,
    ).serve()
