"""The hub's exception tree, in one place.

Every error a user can cause or meet is a :class:`HubError`: the command line prints its
message as one line and exits with its ``exit_code``; no traceback reaches a user.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


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


# The signals that asked this process to stop, in order (hub.cli.main reports an error
# raised after one as the stop it is: C code that a signal interrupts, DuckDB's under
# Splink while a model trains, raises an error of its own, with no KeyboardInterrupt or
# SystemExit left to see).
_stops: list[int] = []


def stopped_by() -> int | None:
    """The first signal that asked this process to stop, if one did."""
    return _stops[0] if _stops else None


def on_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """SIGINT's handler: noted, then a KeyboardInterrupt, as Python's own handler raises."""
    _stops.append(signum)
    signal.default_int_handler(signum, frame)


def exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """A SIGTERM handler for commands that must clean up: noted, then SystemExit(143)."""
    _stops.append(signum)
    sys.exit(128 + signum)
