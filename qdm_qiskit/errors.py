"""Exceptions that carry a message meant for the user.

Library code raises a :class:`QdmError` subclass when the *input* is wrong (a corrupt file, an
invalid setting, an output path that cannot be written). The CLI prints such errors as one line
and exits with status 2; anything else is a bug and keeps its traceback under ``--debug``.
"""

from __future__ import annotations


class QdmError(Exception):
    """Base class of user-facing errors; ``str(error)`` is the whole message."""


class DataError(QdmError, ValueError):
    """A data file or data array is unreadable or does not follow the expected format."""


class ConfigError(QdmError, ValueError):
    """A configuration or option value is unknown, of the wrong type or out of range."""
