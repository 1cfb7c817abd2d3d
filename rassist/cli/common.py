"""Options shared by several commands, declared once."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import typer

from rassist.errors import UsageError
from rassist.protocol.permissions import PERMISSIONS

ServerOpt = typer.Option(None, "--server", envvar="RASSIST_SERVER", metavar="URL",
                         help="Rendezvous server, e.g. ws://relay.example:4477; several nodes of a "
                              "cluster separated by commas (the first that answers is used, the others "
                              "take over if it dies). Default: the side that prints the code runs one, "
                              "and the other side finds it on this machine or the LAN.")
JsonOpt = typer.Option(False, "--json", help="Machine mode: one JSON event per line on stdout, "
                                               "one JSON command per line on stdin.")
NameOpt = typer.Option(None, "--name", help="How the peer sees you. Default: user@hostname.")
TimeoutOpt = typer.Option(10.0, "--timeout", min=0.1, metavar="SECONDS",
                          help="Give up on an unreachable server or a silent peer after this long.")


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
PeerTimeoutOpt = typer.Option(8.0, "--peer-timeout", min=1.0, hidden=True,
                              help="Declare the connection lost after this long without a word from the peer.")
ResumeWindowOpt = typer.Option(120.0, "--resume-window", min=0.0, metavar="SECONDS",
                               help="When the network drops, reconnect by itself for this long (no new "
                                    "code, no new approval) before giving up with exit 6. 0: never.")
RelayOnlyOpt = typer.Option(False, "--relay-only",
                            help="Never reveal your addresses to the peer: all traffic goes through "
                                 "the TURN relay of the rendezvous server.")
DownloadDirOpt = typer.Option(None, "--download-dir", "-o", metavar="DIR", file_okay=False,
                              help="Where files you accept are saved. Default: the current directory.")
NoFastLaneOpt = typer.Option(False, "--no-fast-lane", envvar="RASSIST_NO_FAST_LANE",
                             help="Never open a direct TCP connection for file data: use the "
                                  "WebRTC data channel only (slower).")
NoRecordOpt = typer.Option(False, "--no-record", envvar="RASSIST_NO_RECORD",
                           help="Keep no ticket of this session (see rassist tickets).")
TitleOpt = typer.Option(None, "--title", metavar="TEXT", help="A title for this session's ticket.")
TagOpt = typer.Option([], "--tag", metavar="TAG", help="Tag the ticket (repeatable, or comma-separated).")
