"""The one error type a user sees: a one-line message, no traceback, a non-zero exit code."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (missing path, unknown config key, malformed file).

    The CLI prints `wukong: error: <message>` on one line and exits with status 2.
    """
