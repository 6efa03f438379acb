"""Logging, configured once by the program's entry point (``lottrack`` on the command
line; the terminal UI adds its own console handler on top).

Records go to a rotating file in the user log folder (``$LOTTRACK_LOG_DIR`` overrides
it): ``lottrack.log``, five older files of 1 MB kept beside it, owner-only like every
file lottrack writes. A folder that cannot be written leaves the program running without
a log file rather than stopping it.

What is logged is for the people who run the program, not for the people who use it:
refusals (a :class:`~lottrack.kernel.errors.LotTrackError`) are logged by class and title only,
because their words may name an arm to the unblinded pharmacy (design §7); unexpected
errors are logged with their traceback.
"""

from __future__ import annotations

import logging
import os
import re
import time
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path

from platformdirs import user_log_dir

from lottrack.kernel import environment
from lottrack.kernel.errors import LotTrackError
from lottrack.kernel.private_files import FILE_MODE, create_private, private_dir

LOG_DIR_ENV = environment.LOG_DIR
LOG_FILE = "lottrack.log"
MAX_BYTES = 1_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_HANDLER_NAME = "lottrack-file"


def log_dir() -> Path:
    """``$LOTTRACK_LOG_DIR``, else the user log folder (``~/.local/state/lottrack/log``
    on Linux)."""
    return environment.read().log_dir or Path(user_log_dir("lottrack", appauthor=False))


_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)


class _NoPasswords(logging.Formatter):
    """Every line as formatted, tracebacks included, with the password of any URL in it
    replaced by ``***`` (design §6.9: no password is ever logged)."""

    def format(self, record: logging.LogRecord) -> str:
        return _URL_PASSWORD.sub(r"\1***@", super().format(record))


class _PrivateRotatingFile(RotatingFileHandler):
    """A rotating log file created 0600 (a rotation makes a new one the same way)."""

    def _open(self) -> TextIOWrapper:
        create_private(Path(self.baseFilename))
        os.chmod(self.baseFilename, FILE_MODE)
        return super()._open()


def configure(level: int = logging.INFO, folder: Path | None = None) -> Path | None:
    """Send the program's log records to the rotating file (once per process; later calls
    change nothing). Returns the file, or None when its folder cannot be written."""
    root = logging.getLogger()
    for handler in root.handlers:
        if handler.get_name() == _HANDLER_NAME:
            return Path(getattr(handler, "baseFilename", ""))
    try:
        path = private_dir(folder or log_dir()) / LOG_FILE
        handler = _PrivateRotatingFile(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except (OSError, LotTrackError):
        return None
    handler.set_name(_HANDLER_NAME)
    formatter = _NoPasswords(FORMAT)
    formatter.converter = time.gmtime  # UTC, as every time lottrack stores
    handler.setFormatter(formatter)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return path


def log_failure(logger: logging.Logger, doing: str, error: BaseException) -> None:
    """Log a failed action: a refusal by its class and title (its words may be unblinded),
    anything else with its traceback."""
    if isinstance(error, LotTrackError):
        logger.info("%s refused: %s (%s)", doing, type(error).__name__, error.title)
    else:
        logger.error("%s failed", doing, exc_info=error)
