"""One transfer from offer to last byte, either way, on top of a connected session.

Sender: scan, open the fast-lane listener, offer (with certificate and addresses), wait for
the answer, then take whichever stream says HELLO first: a pinned TLS connection or the
offer's stream on the bulk data channel. Receiver: accept (with its own certificate), try
the fast lane for a moment, else use the data channel, then receive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rassist.errors import ConnectionLost, DeclinedError
from rassist.protocol import transfer as tp
from rassist.protocol import transfer_frames as fr
from rassist.session import Emit
from rassist.transfer.dcstream import BulkChannel
from rassist.transfer.receiver import Receiver, TransferResult
from rassist.transfer.scan import Scan
from rassist.transfer.sender import Sender
from rassist.transfer.stream import ByteStream, StreamClosed

if TYPE_CHECKING:  # the TLS lane (and its X.509 code) loads with the first offer
    from rassist.transfer import lane

log = logging.getLogger("rassist.transfer")
HELLO_TIMEOUT = 30.0  # from the accept to the receiver's first frame on some stream
SendCtl = Callable[[dict[str, Any]], None]


@dataclass
class Outgoing:
    offer: tp.Offer
    answer: asyncio.Future[tp.Accept | tp.Decline | tp.Cancel]
    display: str
    listener: lane.Listener | None = None
    tasks: set[asyncio.Future[Any]] = field(default_factory=set)


def display_name(names: tuple[str, ...] | list[str], more: int = 0) -> str:
    shown = list(names[:3])
    rest = len(names) - len(shown) + more
    return ", ".join(shown) + (f" and {rest} more" if rest else "")


def describe(offer: tp.Offer) -> dict[str, Any]:
    """The fields that describe an offer in events."""
    if offer.is_text:
        return {"name": "text", "files": 0, "dirs": 0, "size": offer.total, "text": True}
    return {"name": display_name(offer.names, offer.more), "names": list(offer.names),
            "more": offer.more, "files": offer.files, "dirs": offer.dirs, "size": offer.total}


def done_fields(result: TransferResult) -> dict[str, Any]:
    seconds = max(result.seconds, 1e-9)
    return {"id": result.offer_id, "direction": result.direction, "lane": result.lane,
            "files": len(result.files), "bytes": result.total, "moved": result.moved,
            "seconds": round(result.seconds, 3), "rate": round(result.moved / seconds)}


def make_outgoing(scan: Scan | None, text: str | None, fast_lane: bool,
                  preferred: list[str]) -> Outgoing:
    offer_id = tp.new_offer_id()
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    if scan is None:
        offer = tp.text_offer(text or "", offer_id)
        return Outgoing(offer, answer, "text")
    listener = None
    lane_offer = None
    if fast_lane:
        from rassist.transfer import lane
        from rassist.transfer.tlscert import new_identity

        listener = lane.Listener(new_identity())
        listener.open(lane.local_addresses(preferred)[: tp.MAX_ADDRS])
        if listener.addrs:
            lane_offer = tp.LaneOffer(listener.me.cert_pem, tuple(listener.addrs))
    offer = tp.offer_for(scan.manifest, offer_id, lane_offer)
    return Outgoing(offer, answer, display_name(scan.manifest.roots), listener)


async def send(out: Outgoing, scan: Scan | None, ctl: SendCtl, bulk: BulkChannel, emit: Emit,
               peer: str, limit_rate: float | None = None) -> TransferResult:
    offer = out.offer
    dc_stream = bulk.stream(offer.id) if scan is not None else None  # before the offer leaves
    try:
        ctl(offer.to_json())
        emit("file-offered", id=offer.id, direction="send", peer=peer,
             lane="tcp" if offer.lane else "datachannel", **describe(offer))
        answer = await out.answer
        if isinstance(answer, tp.Decline):
            said = answer.reason if answer.reason and answer.reason != "declined" else ""  # no "declined: declined"
            raise DeclinedError(f"{peer} declined {out.display}" + (f": {said}" if said else ""))
        if isinstance(answer, tp.Cancel):
            raise ConnectionLost(f"{peer} cancelled the transfer")
        emit("file-accepted", id=offer.id, direction="send", peer=peer)
        if scan is None:
            result = TransferResult(offer.id, "send", "ctl", total=offer.total, moved=offer.total)
            emit("transfer-done", **done_fields(result), text=True)
            return result
        assert dc_stream is not None
        stream, decoder, early = await _first_hello(out, answer, dc_stream)
        if out.listener is not None:
            out.listener.close()
        emit("file-lane", id=offer.id, direction="send", lane=stream.lane)
        result = await Sender(offer, scan, emit, out.display, limit_rate).run(stream, decoder, early)
        emit("transfer-done", **done_fields(result))
        return result
    except BaseException:
        if not out.answer.done():  # we stop before the peer answered: withdraw the offer
            with contextlib.suppress(Exception):
                ctl(tp.cancel_message(offer.id))
        raise
    finally:
        if out.listener is not None:
            out.listener.close()
        for task in out.tasks:
            task.cancel()
        bulk.forget(offer.id)


async def read_hello(stream: ByteStream, offer_id: str
                      ) -> tuple[ByteStream, fr.FrameDecoder, list[fr.Frame | fr.Data]]:
    decoder = fr.FrameDecoder(max_body=4096)
    events: list[fr.Frame | fr.Data] = []
    while not events:
        chunk = await stream.read()
        if not chunk:
            raise StreamClosed("closed before HELLO")
        events = decoder.feed(chunk)
    first = events.pop(0)
    if not isinstance(first, fr.Frame) or first.type != fr.HELLO or first.json().get("offer") != offer_id:
        raise StreamClosed("the first frame was not this offer's HELLO")
    decoder.max_body = fr.SMALL_BODY
    return stream, decoder, events


async def _first_hello(out: Outgoing, accept: tp.Accept, dc_stream: ByteStream
                       ) -> tuple[ByteStream, fr.FrameDecoder, list[fr.Frame | fr.Data]]:
    """The first stream on which the receiver says HELLO; every other candidate is dropped."""
    offer_id = out.offer.id
    winner: asyncio.Future[tuple[ByteStream, fr.FrameDecoder, list[Any]]] = \
        asyncio.get_running_loop().create_future()
    candidates: list[ByteStream] = []

    def watch(stream: ByteStream) -> None:
        candidates.append(stream)
        task = asyncio.ensure_future(read_hello(stream, offer_id))
        out.tasks.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            if t.cancelled() or t.exception() is not None:
                if stream is not dc_stream:
                    stream.abort()
                return
            if not winner.done():
                winner.set_result(t.result())
            elif stream is not dc_stream:
                stream.abort()

        task.add_done_callback(done)

    watch(dc_stream)
    if out.listener is not None and accept.cert_pem:
        found: asyncio.Queue[Any] = asyncio.Queue()
        out.tasks.add(asyncio.ensure_future(out.listener.connections(accept.cert_pem, found)))

        async def feed() -> None:
            while True:
                watch(await found.get())

        out.tasks.add(asyncio.ensure_future(feed()))
    try:
        chosen = await asyncio.wait_for(asyncio.shield(winner), HELLO_TIMEOUT)
    except asyncio.TimeoutError:
        raise ConnectionLost("the receiver never opened the transfer stream") from None
    for stream in candidates:
        if stream is not chosen[0] and stream is not dc_stream:
            stream.abort()
    return chosen


async def receive(offer: tp.Offer, ctl: SendCtl, bulk: BulkChannel, emit: Emit, peer: str,
                  target: Path, overwrite: bool, fast_lane: bool) -> TransferResult:
    if offer.is_text:
        ctl(tp.accept_message(offer.id, None))
        emit("text", id=offer.id, peer=peer, text=offer.text)
        result = TransferResult(offer.id, "receive", "ctl", total=offer.total, moved=offer.total)
        emit("transfer-done", **done_fields(result), text=True)
        return result
    from rassist.transfer import lane
    from rassist.transfer.tlscert import new_identity

    identity = new_identity() if fast_lane and offer.lane and offer.lane.addrs else None
    dc_stream = bulk.stream(offer.id)  # registered before anything can arrive on it
    ctl(tp.accept_message(offer.id, identity.cert_pem if identity else None))
    stream: ByteStream | None = None
    if identity is not None and offer.lane is not None:
        stream = await lane.connect(list(offer.lane.addrs), identity, offer.lane.cert_pem)
    if stream is None:
        stream = dc_stream
    else:
        bulk.forget(offer.id)
    emit("file-lane", id=offer.id, direction="receive", lane=stream.lane)
    receiver = Receiver(offer, target, emit, overwrite, display_name(offer.names, offer.more))
    try:
        result = await receiver.run(stream)
    finally:
        bulk.forget(offer.id)
    emit("transfer-done", **done_fields(result), target=str(target))
    return result
