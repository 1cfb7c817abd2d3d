"""The `rassist` command: one typer app, one module per command group."""

from __future__ import annotations

import typer

from rassist.cli import fastparams, snapshot, transfer
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


def main() -> None:
    fastparams.install()
    app()
