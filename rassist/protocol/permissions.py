"""What a host can grant a joiner. Chat is always allowed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rassist.errors import CommandError

CONTROL = "control"
FILES = "files"
ANNOTATE = "annotate"
PERMISSIONS = ("view", CONTROL, FILES, ANNOTATE)


def only_control(cmd: Mapping[str, Any], key: str) -> None:
    """{"grant"|"revoke"|"request": "control"}: the one permission these commands take for
    mouse, keyboard and a shared shell alike. True is what the plain line mode makes of a bare
    "/revoke"."""
    if cmd.get(key) not in (CONTROL, True):
        raise CommandError(f'{key} takes "control", as in {{"{key}": "control"}}')
