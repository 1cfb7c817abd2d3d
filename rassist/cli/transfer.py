"""`rassist send PATH...` and `rassist receive CODE`: move files on their own.

The sender pairs like `rassist host` (it allocates the code), the receiver like `rassist join`;
then the sender offers, the receiver sees names, count and total size and accepts (or
--yes), and both show progress. Run the same two commands again after an interruption and
the transfer resumes: only the missing part travels.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.filesize import decimal

from rassist.cli import common
from rassist.cli.output import Output, escape
from rassist.cli.run import INTERRUPTED, run
from rassist.cli.transfer_view import TransferView, offer_summary
from rassist.errors import ConnectionLost, RassistError, TimedOut, UsageError
from rassist.protocol.codes import MAX_WORDS, MIN_WORDS
from rassist.protocol.display import visible

if TYPE_CHECKING:
    from rassist.protocol.transfer import Offer
    from rassist.session import Session

GRACE = 3.0  # the receiver waits this long for the sender's goodbye after the last file
_RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]?)[bB]?\s*$")


def parse_rate(text: str | None) -> float | None:
    """"10M" -> 10_000_000 bytes/s; None or "0" -> unlimited."""
    if not text:
        return None
    match = _RATE.match(text)
    if not match:
        raise UsageError(f"--limit-rate {text!r}: use a number of bytes per second such as 500k or 20M")
    value = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[match.group(2).lower()]
    return value or None


class _Live:
    session: Session | None = None

    def interrupt(self) -> bool:
        if self.session is None:
            return False
        asyncio.ensure_future(self.session.close("interrupted"))
        return True


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
    out = Output(json_mode)
    live = _Live()
    view = TransferView(out, "sending")
    from rassist.records.attach import attach

    recorder = attach(out, "send", "host", common.default_name(name), title, tag, not no_record)

    async def main() -> int:
        from rassist.pairing import DirectDone, Host, HostOptions
        from rassist.protocol.transfer import MAX_TEXT
        from rassist.transfer.feature import FilesFeature
        from rassist.transfer.scan import scan_paths

        if bool(paths) == (text is not None):
            raise UsageError("give paths to send, or --text \"...\" (not both)")
        rate = parse_rate(limit_rate)
        if text is not None and len(text) > MAX_TEXT:
            raise UsageError(f"--text is limited to {MAX_TEXT} characters; send a file instead")
        scan = await asyncio.to_thread(scan_paths, list(paths)) if paths else None
        feature = FilesFeature(fast_lane=not (no_fast_lane or relay_only), limit_rate=rate)

        async def approve(hello: Any) -> tuple[str, ...] | None:
            return ("files",) if "files" in hello.wants else None

        # Files go straight over TLS where the receiver can reach us; WebRTC only if not.
        async def send_direct(link: Any) -> Any:
            from rassist.transfer.direct import DirectSender  # loads only once someone pairs

            return await DirectSender(scan, out.emit, rate, recorder)(link)

        direct = send_direct if scan and feature.fast_lane else None
        opts = HostOptions(name=common.default_name(name), server=server, timeout=timeout,
                           code=code, code_length=code_length, peer_timeout=peer_timeout,
                           relay_only=relay_only, features=[*([recorder] if recorder else []), feature],
                           direct=direct, resume_window=0)  # a transfer cut short does not resume yet
        paired = await Host(opts, out.emit, approve).run()
        if isinstance(paired, DirectDone):
            out.emit("closed", reason="done")
            return 0
        live.session = session = paired
        await session.start()
        if scan is not None:
            for path, reason in scan.skipped:
                out.emit("file-skipped", path=path, reason=reason)
            job = asyncio.ensure_future(feature.offer_scan(scan))
        else:
            job = asyncio.ensure_future(feature.offer_text(text or ""))
        return await _finish(out, view, session, job)

    try:
        run(out, main, live.interrupt)
    finally:
        view.stop()
        if recorder:
            recorder.close()


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
    live = _Live()
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
            return await _finish(out, view, session, finished, grace=GRACE)
        finally:
            if commands is not None:
                commands.cancel()

    try:
        run(out, main, live.interrupt)
    finally:
        view.stop()
        if recorder:
            recorder.close()


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


async def _finish(out: Output, view: TransferView, session: Session, job: asyncio.Future[Any],
                  grace: float = 0.0) -> int:
    """Wait for the transfer, close the session, and turn the outcome into an exit code."""
    try:
        outcome = await _outcome(session, job, grace)
    except asyncio.CancelledError:
        view.stop()
        out.say("Interrupted. Run the same send and receive again to resume: "
                "only the missing part will travel.")
        out.emit("closed", reason="interrupted")
        return INTERRUPTED
    except RassistError as exc:  # the session ended under the transfer
        view.stop()
        out.emit("error", kind=exc.kind, message=exc.message)
        out.say("Run the same send and receive again to resume: only the missing part will travel.")
        out.emit("closed", reason=exc.kind)
        return exc.exit_code
    if isinstance(outcome, BaseException):  # the feature has reported it as an error event
        view.stop()
        if isinstance(outcome, (ConnectionLost, TimedOut)):  # only where trying again can help
            out.say("Run the same send and receive again to resume: only the missing part "
                    "will travel.")
        out.emit("closed", reason=getattr(outcome, "kind", "error"))
        return getattr(outcome, "exit_code", 1)
    out.emit("closed", reason="done")
    return 0


async def _outcome(session: Session, job: asyncio.Future[Any], grace: float) -> Any:
    """The job's result or exception. Raises if the session ends before the job does.
    With `grace` (the receiver), waits that long for the sender's goodbye after the job."""
    ended = asyncio.ensure_future(session.run())
    try:
        await asyncio.wait({job, ended}, return_when=asyncio.FIRST_COMPLETED)
        if not job.done():
            reason = ended.result()  # raises ConnectionLost
            if reason == "interrupted":
                raise asyncio.CancelledError
            raise ConnectionLost(f"{session.peer_name} left before the transfer finished")
        if grace:
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(ended), grace)
        return job.exception() or job.result()
    finally:
        if not job.done():
            job.cancel()
        await session.close("done")
        with contextlib.suppress(BaseException):
            await ended


def register(app: typer.Typer) -> None:
    app.command()(send)
    app.command()(receive)
