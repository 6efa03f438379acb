"""Every environment variable lottrack reads, what it means, and the one function that
reads them (docs/deployment.md has the same table for the people who set them).

:func:`read` looks at ``os.environ`` each time it is called and returns a frozen
:class:`Environment`, so a test or a command that sets a variable sees it at once. A
variable that is unset, empty or only spaces counts as unset: its default applies.

Only the standard library: the log set-up at every start (``dose-check`` included) and
the login screen read this module, and both start-ups are measured (bench/).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATABASE_URL = "LOTTRACK_DATABASE_URL"
CONFIG = "LOTTRACK_CONFIG"
KEY_DIR = "LOTTRACK_KEY_DIR"
CHECKPOINT_DIR = "LOTTRACK_CHECKPOINT_DIR"
DOCUMENTS_DIR = "LOTTRACK_DOCUMENTS_DIR"
LOG_DIR = "LOTTRACK_LOG_DIR"
LABEL_PRINTER = "LOTTRACK_LABEL_PRINTER"
USER = "LOTTRACK_USER"
LOGIN_USER = "USER"

VARIABLES: dict[str, str] = {
    DATABASE_URL: "the database (a URL or a SQLite file's path); before the config file",
    CONFIG: "the deployment's config file (TOML, `database_url`), readable by the "
    "service account only",
    KEY_DIR: "the facility's signing key and certificate; default `keys` in the user data folder",
    CHECKPOINT_DIR: "the audit trail's signed checkpoints; default the key folder",
    DOCUMENTS_DIR: "issued labels and certificates; default `documents` in the user data folder",
    LOG_DIR: "the rotating log file; default the user log folder",
    LABEL_PRINTER: "`HOST:PORT` of the thermal printer ZPL labels are sent to; default "
    "none (the file only)",
    USER: "who runs an administrative command when `--as` is not given; before `$USER`",
    LOGIN_USER: "the login name, the last fallback for `LOTTRACK_USER`",
}
"""Each variable read, with its meaning (the order of docs/deployment.md's table)."""


@dataclass(frozen=True)
class Environment:
    """What the environment says; None where a variable is unset or blank."""

    database_url: str | None
    config: Path | None
    key_dir: Path | None
    checkpoint_dir: Path | None
    documents_dir: Path | None
    log_dir: Path | None
    label_printer: str | None
    user: str | None
    login_user: str | None


def _text(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value is not None and value.strip() else None


def _path(name: str) -> Path | None:
    value = _text(name)
    return Path(value).expanduser() if value is not None else None


def read() -> Environment:
    """The environment as it is now."""
    return Environment(
        database_url=_text(DATABASE_URL),
        config=_path(CONFIG),
        key_dir=_path(KEY_DIR),
        checkpoint_dir=_path(CHECKPOINT_DIR),
        documents_dir=_path(DOCUMENTS_DIR),
        log_dir=_path(LOG_DIR),
        label_printer=_text(LABEL_PRINTER),
        user=_text(USER),
        login_user=_text(LOGIN_USER),
    )
