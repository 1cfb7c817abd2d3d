"""Path completion for the send-file dialog, shell style: complete to the longest common prefix,
a trailing "/" on directories, hidden entries only when the typed name starts with a dot."""

from __future__ import annotations

import os
from pathlib import Path

MAX_MATCHES = 200


def matches(typed: str) -> list[str]:
    """Completions of `typed`, each spelled as the user would type it (a "~" stays a "~")."""
    head, _, name = typed.rpartition("/")
    directory = os.path.expanduser(head + "/" if "/" in typed else ".")
    found: list[str] = []
    try:
        with os.scandir(directory or "/") as entries:
            for entry in entries:
                if not entry.name.startswith(name) or (entry.name.startswith(".") and not name.startswith(".")):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                found.append(entry.name + ("/" if is_dir else ""))
                if len(found) >= MAX_MATCHES:
                    break
    except OSError:
        return []
    prefix = typed[: len(typed) - len(name)]
    return [prefix + item for item in sorted(found)]


def complete(typed: str) -> str | None:
    """What Tab should turn `typed` into: the one match, or the matches' common prefix if it is
    longer than what was typed; None if there is nothing to add."""
    options = matches(typed)
    if not options:
        return None
    if len(options) == 1:
        return options[0] if options[0] != typed else None
    common = os.path.commonprefix(options)
    return common if len(common) > len(typed) else None


def check_sendable(typed: str) -> Path:
    """The path to send, or ValueError with the reason it cannot be sent."""
    if not typed.strip():
        raise ValueError("type the path of a file to send")
    path = Path(os.path.expanduser(typed.strip()))
    if not path.exists():
        raise ValueError(f"{typed.strip()}: no such file or directory")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{typed.strip()}: not readable")
    return path
