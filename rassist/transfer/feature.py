"""Files in a session: either side offers, the other accepts or declines.

Stdin commands:  {"send": "path"} or {"send": ["a", "b"]}, {"send-text": "..."},
                 {"accept": ID} (or true: the one pending offer), {"decline": ID}
Events: file-offer (to the side that decides), file-offered, file-accepted, file-lane,
file-progress, file-done, file-skipped, text, transfer-done, and error events with an "id".
A joiner may offer files to the host only if the host granted "files".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rassist.errors import CommandError, ConnectionLost, DeclinedError, RassistError
from rassist.protocol.permissions import FILES
from rassist.protocol.transfer_kinds import ACCEPT, CANCEL, DECLINE, OFFER
from rassist.transfer.dcstream import BulkChannel

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection

    from rassist.protocol import transfer as tp
    from rassist.session import Session
    from rassist.transfer import offers, staging
    from rassist.transfer import scan as scanning
    from rassist.transfer.receiver import TransferResult
    from rassist.transfer.scan import Scan
else:  # what transfers files loads with the first offer or command (rassist/lazy.py)
    from rassist.lazy import LazyModule

    tp = LazyModule("rassist.protocol.transfer")
    offers = LazyModule("rassist.transfer.offers")
    scanning = LazyModule("rassist.transfer.scan")
    staging = LazyModule("rassist.transfer.staging")

log = logging.getLogger("rassist.transfer")
MAX_PENDING_OFFERS = 8  # offers from the peer waiting for an answer; more are declined at once
Ask = Callable[["tp.Offer", str], Awaitable[bool]]
Finished = Callable[[str, str, "TransferResult | BaseException"], None]


class FilesFeature:
    def __init__(self, download_dir: Path | None = None, *, auto_accept: bool = False,
                 overwrite: bool = False, fast_lane: bool = True, ask: Ask | None = None,
                 limit_rate: float | None = None, on_finished: Finished | None = None) -> None:
        """`download_dir`: where accepted files go (default: the current directory).
        `ask(offer, peer)`: decides each offer (a prompt); without it and without
        `auto_accept`, offers wait for {"accept": ID} / {"decline": ID}.
        `on_finished(offer_id, direction, result or exception)`: after each transfer."""
        self.download_dir = download_dir
        self.auto_accept = auto_accept
        self.overwrite = overwrite
        self.fast_lane = fast_lane
        self.ask = ask
        self.limit_rate = limit_rate
        self.on_finished = on_finished
        self.role = "host"
        self.session: Session | None = None
        self.bulk: BulkChannel | None = None
        self._incoming: dict[str, tp.Offer] = {}
        self._outgoing: dict[str, offers.Outgoing] = {}
        self._running: dict[str, asyncio.Future[Any]] = {}
        # Resume (issue 18): what each transfer carries, so that one cut by a dropped link is
        # offered again on the new one (same key: the receiver keeps its verified prefix).
        self._sent: dict[str, tuple[Scan | None, str | None]] = {}   # outgoing id -> scan, text
        self._taken: dict[str, tuple[str, Path]] = {}                 # incoming id -> key, folder
        self._again_out: list[tuple[Scan | None, str | None]] = []
        self._again_in: dict[str, Path] = {}                          # key -> folder, taken again unasked

    # ------------------------------------------------------------ feature protocol

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        self.role = role

    async def start(self, session: Session) -> None:
        self.session = session
        self.bulk = BulkChannel(session.channel("bulk"), lambda cb: session.listen("bulk", cb))
        session.ctl.on(OFFER, self._on_offer)
        session.ctl.on(ACCEPT, self._on_answer)
        session.ctl.on(DECLINE, self._on_answer)
        session.ctl.on(CANCEL, self._on_cancel)
        session.add_command("send", self._send_command)
        session.add_command("send-text", self._send_text_command)
        session.add_command("accept", self._accept_command)
        session.add_command("decline", self._decline_command)

    async def link_lost(self) -> None:
        """The link dropped: transfers under way stop now (the fast lane's TCP connection
        might otherwise carry on beside the one offered again) and are remembered."""
        running = dict(self._running)
        for offer_id, task in running.items():
            self._cut(offer_id)
            task.cancel()
            if self.session is not None:
                self.session.emit("error", kind="connection-lost", id=offer_id,
                                  direction="send" if offer_id in self._sent else "receive",
                                  message="the link dropped: the transfer continues once it is back")
        for task in running.values():
            with contextlib.suppress(BaseException):
                await task

    async def relink(self, session: Session) -> None:
        """A resumed link: its bulk channel; what was cut is offered again and, on the
        receiving side, taken again into the same folder without asking: the receiver's
        verified prefix stays, only the rest travels, and the SHA-256 is checked as always."""
        self.bulk = BulkChannel(session.channel("bulk"), lambda cb: session.listen("bulk", cb))
        again, self._again_out = self._again_out, []
        for scan, text in again:
            self._background(self._send(scan, text))

    async def stop(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for out in self._outgoing.values():
            if out.listener is not None:
                out.listener.close()

    # ------------------------------------------------------------ sending

    @property
    def _may_send(self) -> bool:
        assert self.session is not None
        return self.role == "host" or FILES in self.session.granted

    async def offer_paths(self, paths: list[Path]) -> TransferResult:
        """Offer files and directories and run the transfer; raises if it fails or is declined."""
        scan = await self._scan(paths)
        return await self._send(scan, None)

    async def offer_scan(self, scan: Scan) -> TransferResult:
        """Offer what scan_paths() found (the CLI scans before pairing, to fail early)."""
        return await self._send(scan, None)

    async def offer_text(self, text: str) -> TransferResult:
        return await self._send(None, text)

    async def _scan(self, paths: list[Path]) -> Scan:
        session = self._session()
        if not self._may_send:
            raise CommandError("the host has not granted file transfer (ask for it with join --files)")
        scan = await asyncio.to_thread(scanning.scan_paths, paths)
        for path, reason in scan.skipped:
            session.emit("file-skipped", path=path, reason=reason)
        return scan

    async def _send(self, scan: Scan | None, text: str | None) -> TransferResult:
        session = self._session()
        assert self.bulk is not None
        if text is not None and not self._may_send:
            raise CommandError("the host has not granted file transfer (ask for it with join --files)")
        try:
            out = offers.make_outgoing(scan, text, self.fast_lane, self._preferred())
        except tp.ProtocolError as exc:
            raise CommandError(str(exc)) from None
        self._outgoing[out.offer.id] = out
        self._sent[out.offer.id] = (scan, text)
        task = asyncio.ensure_future(
            offers.send(out, scan, session.ctl.send, self.bulk, session.emit, session.peer_name,
                        self.limit_rate))
        return await self._track(out.offer.id, "send", task)

    def _preferred(self) -> list[str]:
        """The address the peer already reaches us at over ICE, if it is a direct one."""
        route = self._session().peer.route()
        if route.get("local") == "host" and ":" in route.get("local_address", ""):
            return [route["local_address"].rsplit(":", 1)[0]]
        return []

    async def _track(self, offer_id: str, direction: str, task: asyncio.Future[TransferResult]
                     ) -> TransferResult:
        self._running[offer_id] = task
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            raise
        except BaseException as exc:
            if isinstance(exc, ConnectionLost):  # its channel closed before link_lost() came
                self._cut(offer_id)
            self._report(offer_id, direction, exc)
            raise
        finally:
            self._running.pop(offer_id, None)
            self._outgoing.pop(offer_id, None)
            self._sent.pop(offer_id, None)
            self._taken.pop(offer_id, None)
        if self.on_finished is not None:
            self.on_finished(offer_id, direction, result)
        return result

    def _cut(self, offer_id: str) -> None:
        """A transfer the link's drop cut: offered again on the next link, or (receiving) taken
        again there into the same folder. Only a resumed link uses this; a new one starts bare."""
        if offer_id in self._sent:
            if self._sent[offer_id] not in self._again_out:
                self._again_out.append(self._sent[offer_id])
        elif offer_id in self._taken:
            key, folder = self._taken[offer_id]
            self._again_in[key] = folder

    def _report(self, offer_id: str, direction: str, exc: BaseException) -> None:
        if isinstance(exc, RassistError):
            self._session().emit("error", kind=exc.kind, message=exc.message, id=offer_id,
                                 direction=direction)
        elif isinstance(exc, Exception):
            log.warning("transfer %s failed", offer_id, exc_info=exc)
            self._session().emit("error", kind="internal", id=offer_id, direction=direction,
                                 message=f"internal error: {type(exc).__name__}: {exc}")
        if self.on_finished is not None:
            self.on_finished(offer_id, direction, exc)

    def _background(self, job: Awaitable[Any]) -> None:
        """Run a transfer started by a command; its outcome arrives as events."""
        async def quiet() -> None:
            with contextlib.suppress(Exception):
                await job

        asyncio.ensure_future(quiet())

    async def _send_command(self, cmd: dict[str, Any]) -> None:
        value = cmd["send"]
        paths = [value] if isinstance(value, str) else value
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise CommandError('send takes a path or a list of paths: {"send": "report.pdf"}')
        try:
            scan = await self._scan([Path(os.path.expanduser(p)) for p in paths])
        except RassistError as exc:
            raise CommandError(exc.message) from None
        self._background(self._send(scan, None))

    async def _send_text_command(self, cmd: dict[str, Any]) -> None:
        text = cmd["send-text"]
        if not isinstance(text, str) or not text:
            raise CommandError('send-text takes a non-empty string')
        if len(text) > tp.MAX_TEXT:
            raise CommandError(f"a text snippet is limited to {tp.MAX_TEXT} characters")
        self._background(self._send(None, text))

    # ------------------------------------------------------------ receiving

    async def _on_offer(self, msg: dict[str, Any]) -> None:
        session = self._session()
        try:
            offer = tp.parse_offer(msg)
        except tp.ProtocolError as exc:
            offer_id = msg.get("id")
            if isinstance(offer_id, str) and len(offer_id) == 16:
                with contextlib.suppress(Exception):
                    session.ctl.send(tp.decline_message(offer_id, "malformed offer"))
            session.emit("error", kind="protocol", message=f"refused a malformed offer: {exc}")
            if self.on_finished is not None:
                self.on_finished(str(offer_id), "receive",
                                 staging.TransferError(f"refused a malformed offer: {exc}", "protocol"))
            return
        if offer.id in self._incoming or offer.id in self._running:
            return
        if len(self._incoming) >= MAX_PENDING_OFFERS:  # a flood of offers, each a question
            session.ctl.send(tp.decline_message(offer.id, "too many offers are waiting for an answer"))
            session.emit("error", kind="flood",
                         message=f"{session.peer_name} has {MAX_PENDING_OFFERS} offers waiting already: "
                                 "refused another")
            return
        if self.role == "host" and FILES not in session.granted:
            session.ctl.send(tp.decline_message(offer.id, "file transfer is not allowed"))
            session.emit("error", kind="permission", id=offer.id,
                         message=f"{session.peer_name} offered files, but files are not granted")
            return
        self._incoming[offer.id] = offer
        session.emit("file-offer", id=offer.id, direction="receive", peer=session.peer_name,
                     **offers.describe(offer))
        folder = self._again_in.pop(offer.key, None)
        if folder is not None:  # the one a dropped link cut: accepted already
            await self.accept(offer.id, folder)
            return
        try:
            if self.auto_accept:
                await self.accept(offer.id)
            elif self.ask is not None:
                if await self.ask(offer, session.peer_name):
                    await self.accept(offer.id)
                else:
                    await self.decline(offer.id)
        except CommandError:
            pass  # withdrawn by the peer while we were asking

    async def accept(self, offer_id: str, target: Path | None = None) -> None:
        """Start receiving an offer (in the background; the outcome arrives as events)."""
        session = self._session()
        assert self.bulk is not None
        offer = self._incoming.pop(offer_id, None)
        if offer is None:
            raise CommandError(f"no pending offer {offer_id!r}")
        folder = (target or self.download_dir or Path.cwd()).absolute()
        self._taken[offer.id] = (offer.key, folder)
        session.emit("file-accepted", id=offer.id, direction="receive", peer=session.peer_name,
                     target=str(folder))
        task = asyncio.ensure_future(offers.receive(
            offer, session.ctl.send, self.bulk, session.emit, session.peer_name, folder,
            self.overwrite, self.fast_lane))
        self._background(self._track(offer.id, "receive", task))

    def pending(self) -> list[str]:
        """Offers waiting for an answer, oldest first."""
        return list(self._incoming)

    async def decline(self, offer_id: str, reason: str = "declined") -> None:
        session = self._session()
        offer = self._incoming.pop(offer_id, None)
        if offer is None:
            raise CommandError(f"no pending offer {offer_id!r}")
        session.ctl.send(tp.decline_message(offer_id, reason))
        session.emit("file-declined", id=offer_id, direction="receive", peer=session.peer_name,
                     reason=reason)
        if self.on_finished is not None:
            self.on_finished(offer_id, "receive", DeclinedError(f"declined {offer_id}"))

    def _pick(self, value: object, verb: str) -> str:
        if value is True:  # "/accept" in the plain line mode: the one pending offer
            if len(self._incoming) != 1:
                raise CommandError(f"{len(self._incoming)} offers pending: {verb} which? "
                                   f"({', '.join(self._incoming) or 'none'})")
            return next(iter(self._incoming))
        if not isinstance(value, str) or value not in self._incoming:
            raise CommandError(f"no pending offer {value!r}")
        return value

    async def _accept_command(self, cmd: dict[str, Any]) -> None:
        target = cmd.get("to")
        if target is not None and not isinstance(target, str):
            raise CommandError('"to" is a directory path')
        await self.accept(self._pick(cmd["accept"], "accept"),
                          Path(os.path.expanduser(target)) if target else None)

    async def _decline_command(self, cmd: dict[str, Any]) -> None:
        await self.decline(self._pick(cmd["decline"], "decline"))

    # ------------------------------------------------------------ answers from the peer

    def _on_answer(self, msg: dict[str, Any]) -> None:
        try:
            answer: tp.Accept | tp.Decline = (
                tp.parse_accept(msg) if msg["t"] == ACCEPT else tp.parse_decline(msg))
        except tp.ProtocolError as exc:
            log.debug("dropped an answer: %s", exc)
            return
        out = self._outgoing.get(answer.id)
        if out is not None and not out.answer.done():
            out.answer.set_result(answer)

    def _on_cancel(self, msg: dict[str, Any]) -> None:
        try:
            cancel = tp.parse_cancel(msg)
        except tp.ProtocolError:
            return
        session = self._session()
        if self._incoming.pop(cancel.id, None) is not None:
            session.emit("error", kind="cancelled", id=cancel.id,
                         message=f"{session.peer_name} withdrew the offer")
            if self.on_finished is not None:
                self.on_finished(cancel.id, "receive", DeclinedError("the offer was withdrawn"))

    def _session(self) -> Session:
        if self.session is None:
            raise CommandError("file transfer is not ready yet")
        return self.session
