"""`rassist server`: the rendezvous server."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

DEFAULT_PORT = 4477  # also the server module's default; kept here so --help loads nothing heavy


def server(
    host: str = typer.Option("0.0.0.0", "--host", help="Address to listen on."),
    port: int = typer.Option(DEFAULT_PORT, "--port", min=0, max=65535,
                             help="Port to listen on; 0 picks a free one (printed at start)."),
    turn: list[str] = typer.Option([], "--turn", metavar="URL",
                                   help="A TURN server to hand to clients, e.g. turn:turn.example:3478 "
                                        "(repeatable). Needs --turn-secret."),
    turn_secret: str | None = typer.Option(None, "--turn-secret", envvar="RASSIST_TURN_SECRET",
                                           help="coturn's static-auth-secret (use-auth-secret mode)."),
    turn_ttl: int = typer.Option(86400, "--turn-ttl", min=60,
                                 help="Lifetime of TURN credentials, seconds. coturn checks it when a "
                                      "relay is refreshed too: keep it longer than the longest session."),
    stun_port: list[int] = typer.Option([], "--stun-port", min=0, max=65535, metavar="PORT",
                                        help="UDP port(s) of the built-in STUN responder (repeatable). "
                                             "Default: the --port number and the one after it (the second "
                                             "lets `rassist doctor` test how a NAT maps ports)."),
    no_stun: bool = typer.Option(False, "--no-stun", help="Do not answer STUN (clients then gather no "
                                                         "public address unless a TURN server gives one)."),
    public_host: str | None = typer.Option(None, "--public-host", metavar="HOST",
                                           help="Host name or address clients should send STUN to. Default: "
                                                "the host in the URL each client used to reach this server."),
    redis: str | None = typer.Option(None, "--redis", envvar="RASSIST_REDIS", metavar="URL",
                                     help="Share nameplates, pairings and limits with every other node that "
                                          "uses this Redis, e.g. redis://10.0.0.5:6379/0: several nodes behind "
                                          "a load balancer then serve one code space."),
    resume_window: float = typer.Option(15.0, "--resume-window", min=1.0, max=300.0, metavar="SECONDS",
                                        help="With --redis: how long the connections of a node that died may "
                                             "come back through another node and carry on (their partners "
                                             "wait that long before hearing they left)."),
    metrics: bool = typer.Option(False, "--metrics", help="Answer GET /metrics on the same port with "
                                                          "Prometheus text (pairings, waiting hosts, failed "
                                                          "guesses, relayed bytes)."),
) -> None:
    """Run a rendezvous server that pairs hosts and joiners.

    It relays only SPAKE2 messages and sealed signalling it cannot read, logs one line per
    pairing, and never sees a screen, a key press, a chat line or a file.

    Examples:
      rassist server                          # port 4477 on every interface
      rassist server --host 127.0.0.1 --port 0   # a free port, its URL printed first
      rassist server --turn turn:turn.example:3478 --turn-secret "$SECRET"
    """
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    logging.getLogger("websockets").setLevel(logging.WARNING)  # one line per pairing, not per socket

    from rassist.rendezvous.server import RendezvousServer
    from rassist.rendezvous.turn import TurnConfig

    if bool(turn) != bool(turn_secret):
        typer.echo("Error: --turn and --turn-secret go together", err=True)
        raise typer.Exit(2)
    config = TurnConfig(tuple(turn), turn_secret, turn_ttl) if turn and turn_secret else None

    from rassist.rendezvous.stun_server import start_stun

    async def main() -> None:
        try:
            rendezvous = RendezvousServer(turn=config, redis=redis, metrics_path=metrics, public_host=public_host,
                                          resume_window=resume_window)
            running = await rendezvous.start(host, port)
        except ConnectionError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None
        async with running:
            bound = running.sockets[0].getsockname()
            if not no_stun:
                wanted = stun_port or [bound[1], bound[1] + 1]
                stun = await start_stun(host, wanted, fallback=not stun_port)
                rendezvous.stun_ports = [p for _, p in stun]
                logging.getLogger("rassist.server").info("STUN on UDP %s", ", ".join(map(str, rendezvous.stun_ports)))
            local = "127.0.0.1" if bound[0] == "0.0.0.0" else bound[0]
            # The first line on stdout is a URL to use here, so scripts (and tests with --port 0) can read it.
            print(f"ws://{local}:{bound[1]}", flush=True)
            logging.getLogger("rassist.server").info("listening on %s:%s", bound[0], bound[1])
            try:
                await asyncio.Future()
            finally:
                await rendezvous.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        typer.echo(f"Error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
