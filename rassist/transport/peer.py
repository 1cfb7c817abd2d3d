"""The aiortc peer connection: three negotiated data channels; STUN and TURN only as the
rendezvous server hands them out, gathered and checked by our ICE policy (transport/ice.py).

Negotiated channels (fixed ids on both sides) are usable as soon as SCTP is up: no extra
round trip of DCEP open messages, and no race over who creates which channel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from rassist.errors import NoRoute
from rassist.transport import ice, route

CHANNELS = {"ctl": 0, "input": 1, "bulk": 2, "term": 3}  # term: a shared shell (terminal/)


class Peer:
    def __init__(self, ice_servers: Iterable[dict[str, Any]] = (), relay_only: bool = False) -> None:
        """`ice_servers` as the rendezvous server hands them out: {urls, username, credential}.
        `relay_only` hides our addresses from the peer: every packet goes through TURN."""
        policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        # STUN and TURN are gathered by our ICE policy (transport/ice.py), not by aiortc. The empty
        # list matters too: aiortc otherwise asks a public STUN server and waits for it.
        self.ice = ice.Tuner(ice.plan(ice_servers), relay_only)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], iceTransportPolicy=policy))
        self.channels: dict[str, RTCDataChannel] = {}
        self._backlog: dict[str, list[str | bytes]] = {label: [] for label in CHANNELS}
        self._opened = asyncio.Event()
        self.opened_at: float | None = None
        self._failed = asyncio.Event()

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            if self.pc.connectionState in ("failed", "closed"):
                self._failed.set()

    def _create_channels(self) -> None:
        for label, number in CHANNELS.items():
            dc = self.pc.createDataChannel(label, negotiated=True, id=number, ordered=True)
            dc.on("message", self._backlog[label].append)
            self.channels[label] = dc
        self.channels["ctl"].on("open", self._open)

    def _open(self) -> None:
        self.opened_at = asyncio.get_running_loop().time()
        self._opened.set()

    def listen(self, label: str, callback: Callable[[str | bytes], None]) -> None:
        """Receive a channel's messages, starting with any that arrived before anyone listened.

        The peer may send as soon as its side is open, before our session has set up its handlers;
        without the backlog those first messages would be lost."""
        dc = self.channels[label]
        backlog = self._backlog[label]
        dc.remove_listener("message", backlog.append)
        for message in backlog:
            callback(message)
        backlog.clear()
        dc.on("message", callback)

    async def offer(self) -> str:
        self._create_channels()
        offer = await self.pc.createOffer()
        self.ice.install(self.pc)
        await self.pc.setLocalDescription(offer)
        return self.pc.localDescription.sdp

    async def answer(self, offer: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        self._create_channels()
        answer = await self.pc.createAnswer()
        self.ice.install(self.pc)
        await self.pc.setLocalDescription(answer)
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def wait_open(self, timeout: float) -> None:
        """Until the control channel is open (ICE, DTLS and SCTP are all up)."""
        opened = asyncio.ensure_future(self._opened.wait())
        failed = asyncio.ensure_future(self._failed.wait())
        try:
            done, _ = await asyncio.wait({opened, failed}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
            failed.cancel()
        if opened in done:
            return
        raise NoRoute(route.no_route_message(self.ice, timed_out=failed not in done, timeout=timeout))

    def route(self) -> dict[str, Any]:
        """The nominated ICE candidate pair: types (host/srflx/relay), addresses, and the path in
        words: `path` is lan, direct or relay; relays say over what and why."""
        with contextlib.suppress(AttributeError, IndexError, KeyError):
            transport = self.pc.sctp.transport.transport
            pair = transport._connection._nominated[1]  # aioice keeps it private; no public getter
            fields: dict[str, Any] = dict(route.describe(pair.local_candidate, pair.remote_candidate, self.ice))
            if self.ice.started is not None and self.opened_at is not None:
                fields["ice_ms"] = round((self.opened_at - self.ice.started) * 1000)  # checks to channel open
            return fields
        return {"local": "unknown", "remote": "unknown"}

    async def close(self) -> None:
        await self.pc.close()
