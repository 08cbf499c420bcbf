"""The hub's exception tree, in one place.

Every error a user can cause or meet is a :class:`HubError`: the command line prints its
message as one line and exits with its ``exit_code``; no traceback reaches a user.
"""

from __future__ import annotations


class HubError(Exception):
    """An expected failure with a one-line message that says what is wrong and what to do."""

    exit_code = 1


class UsageError(HubError):
    """The command was given something it cannot use (a missing file, a bad option)."""

    exit_code = 2


class StackError(HubError):
    """A local service could not be installed, started, checked or stopped."""


class ServiceNotRunning(StackError):
    """A service the command needs is not running."""

    exit_code = 3
