"""The deployment's config file (design §6.9): where the database is, known only to the
service account.

In a deployment people never hold the database credentials: the program runs under a
service account and reads the database URL from the file that ``$LOTTRACK_CONFIG``
names, which only that account can read (docs/deployment.md). The file is TOML::

    database_url = "postgresql://lottrack_app:…@db-host/lottrack"

Unknown keys are refused, so a misspelt key never silently leaves the default in force.
``lottrack doctor`` reports a file that others can read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from lottrack.kernel import environment
from lottrack.kernel.errors import ValidationError

CONFIG_ENV = environment.CONFIG
KEYS = ("database_url",)


@dataclass(frozen=True)
class Config:
    """What the config file says."""

    path: Path
    database_url: str


def config_path() -> Path | None:
    """The file ``$LOTTRACK_CONFIG`` names, if it is set."""
    return environment.read().config


def load(path: Path) -> Config:
    """Read and check the config file at ``path``."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ValidationError(
            f"Config file: {path} cannot be read ({exc.strerror or exc}); ${CONFIG_ENV} names it.",
            field="config",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(
            f"Config file: {path} is not valid TOML ({exc}).", field="config"
        ) from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ValidationError(
            f"Config file: {path} has unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(KEYS)}.",
            field="config",
        )
    url = data.get("database_url")
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(
            f"Config file: {path} gives no database_url (a text such as "
            '"postgresql://role@host/lottrack").',
            field="config",
        )
    return Config(path, url.strip())


def configured_url() -> str | None:
    """The database URL of the config file named by ``$LOTTRACK_CONFIG``, if any."""
    path = config_path()
    return load(path).database_url if path is not None else None
