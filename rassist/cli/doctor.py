"""`rassist doctor`: what this network allows, the first thing support asks a user to run."""

from __future__ import annotations

import typer

from rassist.cli import common
from rassist.cli.output import Output
from rassist.cli.run import run


def doctor(
    server: str | None = common.ServerOpt,
    json_mode: bool = common.JsonOpt,
    timeout: float = common.TimeoutOpt,
) -> None:
    """Check the way to a rendezvous server: reachable and its round trip, your public address
    (STUN), whether your NAT keeps one public port for every destination, and TURN relaying over
    UDP, TCP and TLS with the credentials the server hands out; then one verdict.

    Exit 0 when a session can be made, 7 when the server is unreachable, 8 when no path is likely.
    """
    out = Output(json_mode)
    from rich.markup import escape

    out.renderers["check"] = lambda f: (f"{'[green]ok[/]  ' if f.get('ok') else '[red]no[/]  '}"
                                        f"{escape(str(f.get('name')))}: {escape(str(f.get('message', '')))}")
    out.renderers["verdict"] = lambda f: (f"[bold {'green' if f.get('ok') else 'red'}]"
                                          f"{escape(str(f.get('message', '')))}[/]")

    async def main() -> int:
        if not server:
            out.emit("verdict", verdict="local", ok=True,
                     message="no --server (or RASSIST_SERVER): sessions on this machine and this LAN need "
                             "nothing more; give --server URL to test the way to a rendezvous server")
            return 0
        from rassist.transport.doctor import diagnose

        return await diagnose(server, out.emit, timeout)

    run(out, main)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
