"""Options shared by several commands, declared once."""

from __future__ import annotations

import typer

# Re-exported: the commands' checks live without typer, for the start-up fast path (fastargs.py).
from rassist.cli.values import default_name, parse_permissions, writable_dir  # noqa: F401

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
