"""`rassist snapshot CODE -o screen.png`: join view-only, save one full-resolution frame, leave."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from rassist.cli import common
from rassist.cli.output import Output
from rassist.cli.run import run
from rassist.errors import TimedOut, UsageError

STILL_WAIT = 5.0  # seconds for the host's answer to a still request (grab, PNG, transfer)


def snapshot(
    code: str | None = typer.Argument(None, envvar="RASSIST_CODE", show_default=False,
                                      help="The code the host gave you (or set RASSIST_CODE)."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the PNG."),
    server: str | None = common.ServerOpt,
    json_mode: bool = common.JsonOpt,
    name: str | None = common.NameOpt,
    timeout: float = common.TimeoutOpt,
    peer_timeout: float = common.PeerTimeoutOpt,
    relay_only: bool = common.RelayOnlyOpt,
) -> None:
    """Grab the host's screen as a PNG (full resolution) and exit 0: for runbooks and tickets.

    Examples:
      rassist snapshot 583-positive-kickoff -o screen.png
      rassist snapshot 583-positive-kickoff -o screen.png --json --server ws://relay.example:4477
    """
    from rassist.crypto.pake_process import start_for

    pake = start_for(code)  # SPAKE2 on another core while this process loads WebRTC
    out = Output(json_mode)
    # Nobody types here: no "Type to chat" (the generic connected line).
    out.renderers["connected"] = lambda f: f"Connected to {escape(str(f.get('peer')))}; waiting for a picture..."

    async def main() -> int:
        if not code:
            raise UsageError("no code given: rassist snapshot CODE -o FILE.png (or set RASSIST_CODE)")
        if output.suffix.lower() != ".png":
            raise UsageError(f"{output}: the snapshot is a PNG; give a file name ending in .png")
        import asyncio

        from rassist.media.screen import ScreenUnavailable, ViewScreen
        from rassist.media.still import ViewStill
        from rassist.pairing import JoinOptions, join
        from rassist.protocol.still import StillError

        view, still = ViewScreen(), ViewStill()
        opts = JoinOptions(name=common.default_name(name), server=server, timeout=timeout, wants=("view",),
                           peer_timeout=peer_timeout, relay_only=relay_only, features=[view, still], pake=pake)
        session = await join(code, opts, out.emit)
        await session.start()
        ended = asyncio.ensure_future(session.run())
        try:
            try:  # a lossless still from the host at once; the video sharpens only over seconds
                width, height = await still.fetch(output, timeout=min(timeout, STILL_WAIT))
            except asyncio.TimeoutError:  # a host from before stills: take the video's frame
                # The first frame can take a moment at 1080p: wait a little longer than --timeout.
                width, height = await view.snapshot(output, timeout=max(timeout, 15.0))
            except StillError as exc:
                raise ScreenUnavailable(f"no snapshot: {exc}") from None
        except asyncio.TimeoutError:
            raise TimedOut("the host sent no picture in time") from None
        finally:
            await session.close("quit")
            await asyncio.gather(ended, return_exceptions=True)
        out.emit("snapshot", path=str(output), width=width, height=height)
        out.emit("closed", reason="quit")
        return 0

    run(out, main)


def register(app: typer.Typer) -> None:
    app.command()(snapshot)
