"""`rassist receive`'s work once its command line is parsed (by typer in transfer.py, or by the
start-up fast path in fastargs.py). No typer here: the receiver's start-up is on the way of
every transfer."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rassist.cli import values
from rassist.cli.output import Output, escape
from rassist.cli.run import run
from rassist.cli.sending import GRACE, Live, finish
from rassist.cli.transfer_view import TransferView, offer_summary
from rassist.errors import RassistError, UsageError
from rassist.protocol.display import visible

if TYPE_CHECKING:
    from rassist.protocol.transfer import Offer
    from rassist.session import Session

# The AEAD first (needed one round trip after the server answers), then what the files need.
RECEIVE_MODULES = ("rassist.crypto.seal", "rassist.transfer.direct",
                   "rassist.transfer.feature")


def receive_files(code: str | None, output: Path, yes: bool, overwrite: bool, server: str | None,
                  json_mode: bool, name: str | None, timeout: float, no_fast_lane: bool, peer_timeout: float,
                  relay_only: bool, no_record: bool, title: str | None, tag: list[str]) -> None:
    """Receive what the sender of `code` offers into `output` and run until it is all there
    (raises SystemExit)."""
    from rassist.crypto.pake_process import preload_here, start_for

    pake = start_for(code)  # SPAKE2 on another core while this process loads the rest
    out = Output(json_mode)
    live = Live()
    view = TransferView(out, "receiving")
    from rassist.records.attach import attach

    recorder = attach(out, "receive", "join", values.default_name(name), title, tag, not no_record)

    async def main() -> int:
        if not code:
            raise UsageError("no code given: rassist receive CODE (or set RASSIST_CODE)")
        values.writable_dir(output, "--output")
        from rassist.cli.console import Lines
        from rassist.pairing import DirectDone, JoinOptions, join
        from rassist.transport import preload

        preload.start(preload_here(pake) + RECEIVE_MODULES)  # on a worker thread while we reach the server and pair
        lines = Lines() if not yes else None
        if lines is not None and json_mode:
            from rassist.cli.drive import answer_early

            answer_early(out, lines)  # until the session is up; then they are its commands
        finished: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_finished(offer_id: str, direction: str, result: Any) -> None:
            if not finished.done():
                finished.set_result(result)

        ask = None if yes or json_mode or lines is None else _prompt(out, lines)
        fast_lane = not (no_fast_lane or relay_only)
        made: dict[str, Any] = {}  # the files feature and the direct receiver, once needed

        async def files() -> list[Any]:  # over WebRTC: once the host's offer is in
            await preload.ready(RECEIVE_MODULES)
            from rassist.transfer.feature import FilesFeature

            made["feature"] = FilesFeature(download_dir=output, auto_accept=yes, overwrite=overwrite,
                                           fast_lane=fast_lane, ask=ask, on_finished=on_finished)
            return [made["feature"]]

        async def receive_direct(link: Any) -> Any:
            await preload.ready(RECEIVE_MODULES)
            from rassist.transfer.direct import DirectReceiver

            made["direct"] = DirectReceiver(output, overwrite, out.emit, yes, ask, recorder)
            return await made["direct"](link)

        later = asyncio.ensure_future(files())
        opts = JoinOptions(name=values.default_name(name), server=server, timeout=timeout,
                           wants=("files",), peer_timeout=peer_timeout, relay_only=relay_only,
                           features=[recorder] if recorder else [], later=later,
                           direct=receive_direct if fast_lane else None,
                           resume_window=0, pake=pake)  # a transfer cut short does not resume yet
        try:
            paired = await join(code, opts, out.emit)
        finally:
            if opts.later is not None:  # not needed: the files came directly, or nothing paired
                later.cancel()
        if isinstance(paired, DirectDone):
            out.emit("closed", reason="done")
            return 0
        feature = made["feature"]
        if "direct" in made and made["direct"].accepted:  # said yes already: not asked again
            feature.auto_accept = True
        live.session = session = paired
        if lines is not None:
            lines.unclaimed = None  # from now on lines are this session's commands
        await session.start()
        commands = None
        if json_mode and lines is not None:
            async def answer_from_stdin() -> None:
                await _commands(session, out, lines)
                # End of input: nobody is left to answer, so the answer is no.
                feature.ask = _refuse
                for offer_id in feature.pending():
                    with contextlib.suppress(RassistError):
                        await feature.decline(offer_id, "no answer (end of input)")

            commands = asyncio.ensure_future(answer_from_stdin())
        try:
            return await finish(out, view, session, finished, grace=GRACE)
        finally:
            if commands is not None:
                commands.cancel()

    run(out, main, live.interrupt, after=(view.stop, recorder and recorder.close))


async def _refuse(offer: Offer, peer: str) -> bool:
    return False


def _prompt(out: Output, lines: Any) -> Any:
    async def ask(offer: Offer, peer: str) -> bool:
        from rich.filesize import decimal

        from rassist.protocol.display import visible_fields
        from rassist.transfer.offers import describe

        f = visible_fields(describe(offer))
        who = escape(visible(peer))
        if offer.is_text:
            question = f"[bold]{who}[/] sends a text snippet ({decimal(offer.total)})."
        else:
            question = f"[bold]{who}[/] offers [bold]{escape(f['name'])}[/]: {offer_summary(f)}."
        lines.discard_pending()  # only what is typed once the question shows answers it
        out.console.print(question + " Accept? [bold]y[/]/[bold]N[/]: ", end="")
        answer = (await lines.next() or "").strip().lower()
        return answer in ("y", "yes")

    return ask


async def _commands(session: Session, out: Output, lines: Any) -> None:
    from rassist.cli.drive import parse_line

    while (line := await lines.next()) is not None:
        try:
            cmd = parse_line(line, True)
        except ValueError as exc:
            out.emit("error", kind="command", message=f"malformed command: {exc}")
            continue
        if cmd is not None:
            await session.handle_command(cmd)
