"""`rassist send`'s work once its command line is parsed (by typer in transfer.py, or by the
start-up fast path in fastargs.py), and what send and receive share. No typer and no rich here:
this module is on the fast path to the code."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rassist.cli import values
from rassist.cli.output import Output
from rassist.cli.run import INTERRUPTED, run
from rassist.cli.transfer_view import TransferView
from rassist.errors import ConnectionLost, RassistError, TimedOut, UsageError

if TYPE_CHECKING:
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


class Live:
    session: Session | None = None

    def interrupt(self) -> bool:
        if self.session is None:
            return False
        asyncio.ensure_future(self.session.close("interrupted"))
        return True


def send_files(paths: list[Path] | None, text: str | None, server: str | None, json_mode: bool,
               name: str | None, timeout: float, code: str | None, code_length: int, no_fast_lane: bool,
               limit_rate: str | None, peer_timeout: float, relay_only: bool, no_record: bool,
               title: str | None, tag: list[str]) -> None:
    """Offer `paths` (or `text`) under a code and run until the receiver has it (raises SystemExit)."""
    out = Output(json_mode)
    live = Live()
    view = TransferView(out, "sending")
    from rassist.records.attach import attach

    recorder = attach(out, "send", "host", values.default_name(name), title, tag, not no_record)

    async def main() -> int:
        from rassist.pairing import DirectDone, Host, HostOptions
        from rassist.transfer.scan import scan_paths
        from rassist.transport import preload

        if bool(paths) == (text is not None):
            raise UsageError("give paths to send, or --text \"...\" (not both)")
        rate = parse_rate(limit_rate)
        if text is not None:
            from rassist.protocol.transfer import MAX_TEXT

            if len(text) > MAX_TEXT:
                raise UsageError(f"--text is limited to {MAX_TEXT} characters; send a file instead")
        scan = await asyncio.to_thread(scan_paths, list(paths)) if paths else None
        fast_lane = not (no_fast_lane or relay_only)
        made: list[Any] = []  # the files feature, made once the code is out (HostOptions.after_code)
        direct_lane = bool(scan) and fast_lane
        modules = ("rassist.transfer.feature",) + (("rassist.transfer.direct",) if direct_lane else ())

        async def files_feature() -> list[Any]:
            # While the receiver is awaited: the files feature, and the TLS lane (certificates,
            # listener) that the first offer needs once someone pairs.
            await preload.ready(modules)
            from rassist.transfer.feature import FilesFeature

            made.append(FilesFeature(fast_lane=fast_lane, limit_rate=rate))
            return made

        async def approve(hello: Any) -> tuple[str, ...] | None:
            return ("files",) if "files" in hello.wants else None

        # Files go straight over TLS where the receiver can reach us; WebRTC only if not.
        async def send_direct(link: Any) -> Any:
            from rassist.transfer.direct import DirectSender  # loads only once someone pairs

            return await DirectSender(scan, out.emit, rate, recorder)(link)

        direct = send_direct if direct_lane else None
        opts = HostOptions(name=values.default_name(name), server=server, timeout=timeout,
                           code=code, code_length=code_length, peer_timeout=peer_timeout,
                           relay_only=relay_only, features=[recorder] if recorder else [],
                           after_code=files_feature, direct=direct,
                           resume_window=0)  # a transfer cut short does not resume yet
        paired = await Host(opts, out.emit, approve).run()
        if isinstance(paired, DirectDone):
            out.emit("closed", reason="done")
            return 0
        (feature,) = made  # a session's offer was made with it
        live.session = session = paired
        await session.start()
        if scan is not None:
            for path, reason in scan.skipped:
                out.emit("file-skipped", path=path, reason=reason)
            job = asyncio.ensure_future(feature.offer_scan(scan))
        else:
            job = asyncio.ensure_future(feature.offer_text(text or ""))
        return await finish(out, view, session, job)

    run(out, main, live.interrupt, after=(view.stop, recorder and recorder.close))


async def finish(out: Output, view: TransferView, session: Session, job: asyncio.Future[Any],
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
