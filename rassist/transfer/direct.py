"""`send` / `receive` without WebRTC: the offer and its answer travel through the sealed pairing
channel, the files over a TLS connection whose certificates both sides pinned through that
channel (as magic-wormhole's transit does). No aiortc is loaded, no ICE, DTLS or SCTP is run.

Sender                                         Receiver
  direct {offer (with its address list and certificate)} ->
                                             <- direct {accept (with its certificate)} | {decline}
                                                  connects to the addresses (pinned TLS)
  <========== HELLO, then the usual transfer frames over TLS ==========>

Both sides that keep a record (a ticket) say so ("rec") and swap their last chain heads
through the sealed channel once the files are through, as a session does over its data channel.

A receiver that cannot connect (or cannot answer here: --json without --yes) says
{"fallback": true}; both then pair over WebRTC as usual and the offer is made again there
(the receiver that accepted here accepts it without asking twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from rassist.errors import AuthError, ConnectionLost, DeclinedError
from rassist.protocol import transfer as tp
from rassist.protocol import transfer_frames as fr
from rassist.transfer import lane, offers
from rassist.transfer.receiver import Receiver, TransferResult
from rassist.transfer.scan import Scan
from rassist.transfer.sender import Sender
from rassist.transfer.stream import StreamClosed
from rassist.transfer.tlscert import new_identity
from rassist.transfer.tlsstream import LINGER, TlsStream

ANSWER_TIMEOUT = 300.0  # a person may be reading the offer
HEAD_WAIT = 2.0  # for the peer's last chain head once the files are through
HELLO_TIMEOUT = lane.CONNECT_BUDGET + lane.HANDSHAKE_TIMEOUT  # accept -> the receiver's HELLO
Emit = Callable[..., None]
Ask = Callable[[tp.Offer, str], Awaitable[bool]]


class Link(Protocol):
    """The sealed pairing channel, for "direct" messages (see rassist.pairing.DirectLink)."""
    peer: str
    session_id: str

    async def send(self, fields: dict[str, Any]) -> None: ...
    async def recv(self, timeout: float | None = None) -> dict[str, Any]: ...


def _connected(emit: Emit, link: Link, role: str, stream: TlsStream) -> None:
    emit("connected", peer=link.peer, role=role, granted=["files"],
         route={"local": "host", "remote": "host", "protocol": "tcp", "direct": True,
                "remote_address": stream.peer})


async def _swap_heads(link: Link, recorder: Any | None, peer_records: bool) -> None:
    """Our record's last chain head to the peer, the peer's into our record (see
    rassist.records.recorder: the two records then vouch for each other)."""
    if recorder is None:
        return
    mine = await recorder.final_head()
    if mine is not None:
        await link.send({"rec-head": mine})
    if not peer_records:
        return
    try:
        theirs = await link.recv(HEAD_WAIT)
    except Exception:  # noqa: BLE001 - gone or silent: the record simply lacks its confirmation
        return
    if isinstance(theirs.get("rec-head"), dict):
        await recorder.peer_final_head(theirs["rec-head"])


async def _close(stream: TlsStream) -> None:
    """Flush the last frame and wait for the peer to hang up: the process exits right after."""
    try:
        await asyncio.wait_for(stream.aclose(), LINGER + 1.0)
    except (Exception, asyncio.TimeoutError):  # noqa: BLE001 - the transfer is complete
        stream.abort()


class DirectSender:
    def __init__(self, scan: Scan, emit: Emit, limit_rate: float | None = None,
                 recorder: Any | None = None) -> None:
        self.scan = scan
        self.emit = emit
        self.limit_rate = limit_rate
        self.recorder = recorder

    async def __call__(self, link: Link) -> TransferResult | None:
        """The finished transfer, or None to go on over WebRTC."""
        out = offers.make_outgoing(self.scan, None, True, [])
        if out.listener is None or out.offer.lane is None:
            return None  # nothing to listen on: the host sends its SDP offer at once
        offer = out.offer
        tasks: list[asyncio.Future[Any]] = []
        try:
            await link.send({"offer": offer.to_json(), "rec": self.recorder is not None})
            self.emit("file-offered", id=offer.id, direction="send", peer=link.peer, lane="tcp",
                      **offers.describe(offer))
            answer = await link.recv(ANSWER_TIMEOUT)
            if answer.get("fallback") is True:
                return None
            accept = _accept(answer, offer.id, link.peer, out.display)
            found: asyncio.Queue[TlsStream] = asyncio.Queue()
            tasks.append(asyncio.ensure_future(out.listener.connections(accept.cert_pem, found)))
            hello = asyncio.ensure_future(_first_hello(found, offer.id))
            gave_up = asyncio.ensure_future(link.recv(HELLO_TIMEOUT))
            tasks += [hello, gave_up]
            await asyncio.wait({hello, gave_up}, timeout=HELLO_TIMEOUT,
                               return_when=asyncio.FIRST_COMPLETED)
            if not hello.done():
                if gave_up.done() and gave_up.exception() is None and gave_up.result().get("fallback"):
                    return None
                raise ConnectionLost("the receiver never opened the direct connection")
            stream, decoder, early = hello.result()
            gave_up.cancel()  # the sealed channel's next message is the receiver's last head
            out.listener.close()
            if self.recorder is not None:
                self.recorder.direct_link(link.session_id, link.peer)
            _connected(self.emit, link, "host", stream)
            self.emit("file-accepted", id=offer.id, direction="send", peer=link.peer)
            self.emit("file-lane", id=offer.id, direction="send", lane=stream.lane)
            result = await Sender(offer, self.scan, self.emit, out.display, self.limit_rate).run(
                stream, decoder, early)
            self.emit("transfer-done", **offers.done_fields(result))
            await _close(stream)
            await _swap_heads(link, self.recorder, answer.get("rec") is True)
            return result
        finally:
            out.listener.close()
            for task in tasks:
                task.cancel()


def _accept(answer: dict[str, Any], offer_id: str, peer: str, display: str) -> tp.Accept:
    try:
        if isinstance(answer.get("decline"), dict):
            decline = tp.parse_decline(answer["decline"])
            raise DeclinedError(f"{peer} declined {display}"
                                + (f": {decline.reason}" if decline.reason else ""))
        accept = tp.parse_accept(answer["accept"] if isinstance(answer.get("accept"), dict) else {})
    except tp.ProtocolError as exc:
        raise AuthError(f"the receiver's answer is malformed: {exc}") from None
    if accept.id != offer_id or not accept.cert_pem:
        raise AuthError("the receiver answered a different offer")
    return accept


async def _first_hello(found: asyncio.Queue[TlsStream], offer_id: str
                       ) -> tuple[TlsStream, fr.FrameDecoder, list[Any]]:
    """The first pinned connection that says HELLO for this offer (only our receiver can get
    one through the handshake; a silent or confused one is dropped)."""
    while True:
        stream = await found.get()
        try:
            _, decoder, early = await asyncio.wait_for(offers.read_hello(stream, offer_id),
                                                       lane.HANDSHAKE_TIMEOUT)
        except (StreamClosed, asyncio.TimeoutError, OSError):
            stream.abort()
            continue
        return stream, decoder, early


class DirectReceiver:
    def __init__(self, target: Path, overwrite: bool, emit: Emit, auto_accept: bool,
                 ask: Ask | None, recorder: Any | None = None) -> None:
        self.recorder = recorder
        self.target = target
        self.overwrite = overwrite
        self.emit = emit
        self.auto_accept = auto_accept
        self.ask = ask
        self.accepted = False  # the user said yes here: the WebRTC fallback does not ask again

    async def __call__(self, link: Link) -> TransferResult | None:
        """The finished transfer, or None (after telling the sender) to go on over WebRTC."""
        first = await link.recv()
        try:
            offer = tp.parse_offer(first["offer"] if isinstance(first.get("offer"), dict) else {})
        except tp.ProtocolError:
            offer = None  # the WebRTC path refuses it with a proper error
        if offer is None or offer.is_text or offer.lane is None or (
                not self.auto_accept and self.ask is None):
            await link.send({"fallback": True})
            return None
        self.emit("file-offer", id=offer.id, direction="receive", peer=link.peer,
                  **offers.describe(offer))
        if not self.auto_accept:
            assert self.ask is not None
            if not await self.ask(offer, link.peer):
                await link.send({"decline": tp.decline_message(offer.id)})
                self.emit("file-declined", id=offer.id, direction="receive", peer=link.peer,
                          reason="declined")
                raise DeclinedError(f"declined the offer from {link.peer}")
        self.accepted = True
        identity = new_identity()
        await link.send({"accept": tp.accept_message(offer.id, identity.cert_pem),
                         "rec": self.recorder is not None})
        stream = await lane.connect(list(offer.lane.addrs), identity, offer.lane.cert_pem)
        if stream is None:
            await link.send({"fallback": True})
            return None
        folder = self.target.absolute()
        if self.recorder is not None:
            self.recorder.direct_link(link.session_id, link.peer)
        _connected(self.emit, link, "join", stream)
        self.emit("file-accepted", id=offer.id, direction="receive", peer=link.peer,
                  target=str(folder))
        self.emit("file-lane", id=offer.id, direction="receive", lane=stream.lane)
        receiver = Receiver(offer, folder, self.emit, self.overwrite,
                            offers.display_name(offer.names, offer.more))
        try:
            result = await receiver.run(stream)
        except BaseException:
            stream.abort()
            raise
        self.emit("transfer-done", **offers.done_fields(result), target=str(folder))
        await _close(stream)
        await _swap_heads(link, self.recorder, first.get("rec") is True)
        return result
