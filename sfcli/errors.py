"""Exceptions that the CLI turns into one clear line on stderr (never a traceback)."""

from __future__ import annotations


class SfcliError(Exception):
    """Base class for every error that is the user's input or environment, not a bug."""


class AudioError(SfcliError):
    """An audio file is missing, unreadable, empty, truncated or holds invalid samples."""


class ModelNotFoundError(SfcliError):
    """A model directory or one of its files is missing."""


class QueryError(SfcliError):
    """A separation query (text or reference clip) is missing or unusable."""


class OutputError(SfcliError):
    """An output cannot be written (exists without --force, folder not writable, ...)."""
