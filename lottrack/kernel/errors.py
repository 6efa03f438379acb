"""Errors a person can read.

Every service raises one of these with a short title and a message that says what was
refused and why; the terminal UI and the CLI show them as they are.
"""

from __future__ import annotations


class LotTrackError(Exception):
    """Base class: ``title`` is a few words, ``message`` a sentence for a person."""

    title = "Error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class ValidationError(LotTrackError):
    """Input that cannot be accepted; nothing was stored."""

    title = "Invalid input"

    def __init__(self, message: str, *, field: str | None = None, title: str | None = None):
        super().__init__(message, title=title)
        self.field = field


class PermissionDenied(LotTrackError):
    """The user's roles (or separation of duties) do not allow the action."""

    title = "Not permitted"


class InvalidTransition(LotTrackError):
    """The operation is out of order for the record's current state."""

    title = "Not allowed now"


class SignatureRejected(LotTrackError):
    """An electronic signature was refused (wrong credentials, locked account...)."""

    title = "Signature refused"


class AuthenticationFailed(LotTrackError):
    """Login refused."""

    title = "Login refused"


class NotFound(LotTrackError):
    """A record that was asked for does not exist."""

    title = "Not found"


class Conflict(LotTrackError):
    """Another terminal changed the same record first; nothing was written."""

    title = "Changed elsewhere"


class NotInitialised(LotTrackError):
    """The chosen database holds no lottrack schema (``lottrack init`` was never run on
    it); nothing was created or written."""

    title = "No lottrack database"
