"""Errors that end a command, each with its documented exit code and a JSON `kind`."""

from __future__ import annotations


class RassistError(Exception):
    """Base: a clear message for a person, a stable exit code and kind for scripts."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(RassistError):
    exit_code = 2
    kind = "usage"


class AuthError(RassistError):
    """Wrong code, unknown nameplate, or a signalling message that failed authentication."""

    exit_code = 3
    kind = "auth"


class TimedOut(RassistError):
    exit_code = 4
    kind = "timeout"


class DeclinedError(RassistError):
    exit_code = 5
    kind = "declined"


class ConnectionLost(RassistError):
    exit_code = 6
    kind = "connection-lost"


class Unreachable(RassistError):
    """The rendezvous server (or the embedded host) could not be reached."""

    exit_code = 7
    kind = "unreachable"


class NoRoute(RassistError):
    """No peer-to-peer path: nothing direct answered and no relay worked (the message says why)."""

    exit_code = 8
    kind = "no-route"


class CommandError(RassistError):
    """A refused stdin command: reported as an `error` event, the session goes on."""

    kind = "command"

