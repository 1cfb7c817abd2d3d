"""`rassist send PATH...` and `rassist receive CODE`: move files on their own.

The sender pairs like `rassist host` (it allocates the code), the receiver like `rassist join`;
then the sender offers, the receiver sees names, count and total size and accepts (or
--yes), and both show progress. Run the same two commands again after an interruption and
the transfer resumes: only the missing part travels.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.filesize import decimal

from rassist.cli import common
from rassist.cli.output import Output, escape
from rassist.cli.run import run
from rassist.cli.sending import GRACE, Live, finish, parse_rate, send_files  # noqa: F401 (parse_rate: tests)
from rassist.cli.transfer_view import TransferView, offer_summary
from rassist.errors import RassistError, UsageError
from rassist.protocol.codes import MAX_WORDS, MIN_WORDS
from rassist.protocol.display import visible

if TYPE_CHECKING:
    from rassist.protocol.transfer import Offer
    from rassist.session import Session


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
    out = Output(json_mode)
    live = Live()
    view = TransferView(out, "receiving")
    from rassist.records.attach import attach

    recorder = attach(out, "receive", "join", common.default_name(name), title, tag, not no_record)

    async def main() -> int:
        if not code:
            raise UsageError("no code given: rassist receive CODE (or set RASSIST_CODE)")
        common.writable_dir(output, "--output")
        from rassist.cli.console import Lines
        from rassist.pairing import DirectDone, JoinOptions, join
        from rassist.transfer.direct import DirectReceiver
        from rassist.transfer.feature import FilesFeature

        lines = Lines() if not yes else None
        if lines is not None and json_mode:
            from rassist.cli.drive import answer_early

            answer_early(out, lines)  # until the session is up; then they are its commands
        finished: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_finished(offer_id: str, direction: str, result: Any) -> None:
            if not finished.done():
                finished.set_result(result)

        ask = None if yes or json_mode or lines is None else _prompt(out, lines)
        feature = FilesFeature(download_dir=output, auto_accept=yes, overwrite=overwrite,
                               fast_lane=not (no_fast_lane or relay_only), ask=ask,
                               on_finished=on_finished)
        direct = (DirectReceiver(output, overwrite, out.emit, yes, ask, recorder)
                  if feature.fast_lane else None)
        opts = JoinOptions(name=common.default_name(name), server=server, timeout=timeout,
                           wants=("files",), peer_timeout=peer_timeout, relay_only=relay_only,
                           features=[*([recorder] if recorder else []), feature], direct=direct,
                           resume_window=0)  # a transfer cut short does not resume yet
        paired = await join(code, opts, out.emit)
        if isinstance(paired, DirectDone):
            out.emit("closed", reason="done")
            return 0
        if direct is not None and direct.accepted:  # said yes already: not asked again
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


def register(app: typer.Typer) -> None:
    app.command()(send)
    app.command()(receive)
