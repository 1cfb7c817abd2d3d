"""The `rassist` command: one typer app, one module per command group."""

from __future__ import annotations

import os
import sys

import typer

from rassist.cli import doctor, fastparams, snapshot, tickets, transfer
from rassist.cli.server_command import server
from rassist.cli.session_commands import host, join_command

app = typer.Typer(
    name="rassist",
    help="Remote assistance from the command line: share a screen, chat, move files, "
         "hand over control. Peer to peer, end-to-end encrypted, paired by a short code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(server)
app.command()(host)
app.command("join")(join_command)
snapshot.register(app)
transfer.register(app)
tickets.register(app)
doctor.register(app)


def _version(value: bool) -> None:
    if value:
        from rassist import __version__

        typer.echo(f"rassist {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Remote assistance from the command line: share a screen, chat, move files, hand over
    control. Peer to peer, end-to-end encrypted, paired by a short code."""


def main() -> None:
    from rassist.cli.helptext import quiet_types

    quiet_types()
    fastparams.install()
    try:
        app()
    except SystemExit as done:
        _exit(done.code)


def _exit(code: object) -> None:
    """The command has returned: its event loop and its `finally` blocks have closed what it
    opened (daemon threads aside). Tearing the interpreter down module by module (~150 ms with
    aiortc loaded) would only keep the user from the prompt, so leave at once."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
    status = code if isinstance(code, int) else 0 if code is None else 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # a closed pipe: nobody reads what is left
    os._exit(status)
