"""Option values checked and defaulted, shared by the commands. No typer here: `rassist join`
and `rassist send` parse their command line without it on the start-up fast path (fastargs.py)."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

from rassist.errors import UsageError
from rassist.protocol.permissions import PERMISSIONS


def default_name(name: str | None) -> str:
    if name:
        return name
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{socket.gethostname()}"


def writable_dir(path: Path | None, option: str) -> Path | None:
    """Check, before any code is used, that files can be saved in `path` (or that it can be
    created there): a read-only or mistyped directory found after pairing would burn the code
    for nothing. Nothing is created here."""
    if path is None:
        return None
    import tempfile

    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: that is a file, not a directory")
    probe, missing = path, False
    while not probe.exists():  # the nearest existing ancestor must let us create the rest
        probe, missing = probe.absolute().parent, True
    if not probe.is_dir():
        raise UsageError(f"{option} {path}: cannot create that directory ({probe} is a file)")
    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".rassist-check-"):
            pass
    except OSError as exc:
        what = "cannot create that directory" if missing else "cannot write there"
        raise UsageError(f"{option} {path}: {what} ({exc.strerror or exc})") from None
    return path


def parse_permissions(values: list[str]) -> set[str]:
    """"control,files" or repeated options, into a checked set."""
    found = {p.strip() for v in values for p in v.split(",") if p.strip()}
    unknown = found - set(PERMISSIONS)
    if unknown:
        raise UsageError(f"unknown permission {', '.join(sorted(unknown))}; use {', '.join(PERMISSIONS)}")
    return found
