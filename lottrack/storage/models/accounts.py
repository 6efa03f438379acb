"""Sites, users and trial-wide settings."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from lottrack.storage.models.base import Audited, UTCDateTime, utcnow


class Site(Audited, SQLModel, table=True):
    """A manufacturing / clinical site."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, description="Facility name as printed on documents")
    address: str = Field(default="", max_length=500)
    timezone: str = Field(default="UTC", max_length=64, description="IANA zone for display")
    fin: str = Field(max_length=5, unique=True, description="ISBT 128 facility id (FIN)")
    decimal_separator: str = Field(default=".", max_length=1, description="'.' or ','")
    product_code_msc: str = Field(default="", max_length=8, description="ISBT 128 product code")
    product_code_placebo: str = Field(default="", max_length=8)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(Audited, SQLModel, table=True):
    """A person with an account. Never deleted: disabled users keep their history."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=200, description="Printed name used in signatures")
    roles: str = Field(default="", max_length=200, description="Comma-separated, sorted")
    password_hash: str = Field(max_length=300)
    password_history: str = Field(
        default="",
        max_length=2000,
        description="Hashes of the previous passwords, newest first, space-separated (the "
        "no-reuse rule); masked in the audit trail like the hash itself",
    )
    active: bool = Field(default=True)
    failed_logins: int = Field(default=0, description="Consecutive failures")
    locked_at: dt.datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="Locked out until an admin unlocks"
    )
    password_changed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    must_change_password: bool = Field(default=False)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def role_set(self) -> frozenset[str]:
        """The user's roles as a set."""
        return frozenset(r for r in self.roles.split(",") if r)


class Setting(Audited, SQLModel, table=True):
    """A configurable default (design §10) that is not part of a specification."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)
