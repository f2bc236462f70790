"""One error type for everything a user can get wrong.

Raise :class:`UserError` for bad arguments and bad inputs (a missing file, a malformed trace row,
an unknown policy). The CLI prints its message on one line of stderr and exits with code 2; no
traceback unless ``--debug`` is given. Anything else is a bug and is reported as one.
"""

from __future__ import annotations

EXIT_USAGE = 2


class UserError(Exception):
    """Something the user can fix: the message says what and where."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
