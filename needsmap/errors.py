"""Errors that carry a sentence a planner understands; the CLI prints it, pages show it."""

from __future__ import annotations


class NeedsmapError(Exception):
    """Base class: ``str(error)`` is the one line a user sees."""


class UnusableFileError(NeedsmapError):
    """The whole file cannot be used (empty, not a table, unreadable, missing columns)."""


class DatabaseError(NeedsmapError):
    """The database is missing, corrupt or of another schema version."""


class BoundaryError(NeedsmapError):
    """The district boundary file is missing, unreadable or lacks the expected properties."""
