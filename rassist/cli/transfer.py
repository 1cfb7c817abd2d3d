"""`rassist send PATH...` and `rassist receive CODE`: move files on their own.

The sender pairs like `rassist host` (it allocates the code), the receiver like `rassist join`;
then the sender offers, the receiver sees names, count and total size and accepts (or
--yes), and both show progress. Run the same two commands again after an interruption and
the transfer resumes: only the missing part travels.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rassist.cli import common
from rassist.cli.receiving import receive_files
from rassist.cli.sending import send_files
from rassist.protocol.codes import MAX_WORDS, MIN_WORDS


def send(
    paths: list[Path] = typer.Argument(None, show_default=False,
                                       help="Files and directories to send."),
    text: str | None = typer.Option(None, "--text", help="Send this text instead of files; "
                                                         "the receiver prints it."),
    server: str | None = common.ServerOpt,
    json_mode: bool = common.JsonOpt,
    name: str | None = common.NameOpt,
    timeout: float = common.TimeoutOpt,
    code: str | None = typer.Option(None, "--code",
                                    help="Use this code (NUMBER-word-word) instead of a fresh one."),
    code_length: int = typer.Option(2, "--code-length", min=MIN_WORDS, max=MAX_WORDS,
                                    help="Words in a generated code; more words, harder to guess."),
    no_fast_lane: bool = common.NoFastLaneOpt,
    limit_rate: str | None = typer.Option(None, "--limit-rate", metavar="RATE",
                                          help="At most this many bytes per second, e.g. 20M."),
    peer_timeout: float = common.PeerTimeoutOpt,
    relay_only: bool = common.RelayOnlyOpt,
    no_record: bool = common.NoRecordOpt,
    title: str | None = common.TitleOpt,
    tag: list[str] = common.TagOpt,
) -> None:
    """Send files, directories or a text snippet: prints a code for `rassist receive CODE`.

    Every file is checked with SHA-256 on arrival. If the transfer is interrupted, run the
    same send and receive again: it continues where it stopped.

    Examples:
      rassist send report.pdf logs/           # prints a code for the receiver
      rassist send --text "ssh deploy@10.0.0.7"
      rassist send big.iso --limit-rate 20M --code 7-positive-kickoff
    """
    send_files(paths, text, server, json_mode, name, timeout, code, code_length, no_fast_lane, limit_rate,
               peer_timeout, relay_only, no_record, title, tag)


def receive(
    code: str | None = typer.Argument(None, envvar="RASSIST_CODE", show_default=False,
                                      help="The code the sender printed (or set RASSIST_CODE)."),
    output: Path = typer.Option(Path("."), "--output", "-o", metavar="DIR",
                                help="Where to put what arrives (created if missing)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Accept the offer without asking."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing files of the same name (default: keep "
                                        "them and save the new ones as \"name (1)\")."),
    server: str | None = common.ServerOpt,
    json_mode: bool = common.JsonOpt,
    name: str | None = common.NameOpt,
    timeout: float = common.TimeoutOpt,
    no_fast_lane: bool = common.NoFastLaneOpt,
    peer_timeout: float = common.PeerTimeoutOpt,
    relay_only: bool = common.RelayOnlyOpt,
    no_record: bool = common.NoRecordOpt,
    title: str | None = common.TitleOpt,
    tag: list[str] = common.TagOpt,
) -> None:
    """Receive what `rassist send` offers: see names, count and size, accept, watch it arrive.

    With --json and without --yes, answer the file-offer event on stdin with
    {"accept": ID} or {"decline": ID}.

    Examples:
      rassist receive 583-positive-kickoff    # shows what is offered, asks, saves here
      rassist receive 583-positive-kickoff -o ~/Downloads --yes
    """
    receive_files(code, output, yes, overwrite, server, json_mode, name, timeout, no_fast_lane, peer_timeout,
                  relay_only, no_record, title, tag)
