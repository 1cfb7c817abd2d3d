"""The aiortc peer connection: three negotiated data channels, no STUN unless asked for.

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
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from rassist.errors import ConnectionLost, TimedOut

CHANNELS = {"ctl": 0, "input": 1, "bulk": 2, "term": 3}  # term: a shared shell (terminal/)


class Peer:
    def __init__(self, ice_servers: Iterable[dict[str, Any]] = (), relay_only: bool = False) -> None:
        """`ice_servers` as the rendezvous server hands them out: {urls, username, credential}.
        `relay_only` hides our addresses from the peer: every packet goes through TURN."""
        servers = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                   for s in ice_servers]
        policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        # An empty list matters: aiortc otherwise asks a public STUN server and waits for it.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=policy))
        self.channels: dict[str, RTCDataChannel] = {}
        self._backlog: dict[str, list[str | bytes]] = {label: [] for label in CHANNELS}
        self._opened = asyncio.Event()
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
        self.channels["ctl"].on("open", self._opened.set)

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
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, offer: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        self._create_channels()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
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
        if failed in done:
            raise ConnectionLost("could not establish a peer-to-peer connection (ICE/DTLS failed)")
        raise TimedOut(f"no peer-to-peer connection after {timeout:g} s")

    def route(self) -> dict[str, str]:
        """The nominated ICE candidate pair: types (host/srflx/relay) and addresses."""
        with contextlib.suppress(AttributeError, IndexError, KeyError):
            ice = self.pc.sctp.transport.transport
            pair = ice._connection._nominated[1]  # aioice keeps it private; no public getter
            local, remote = pair.local_candidate, pair.remote_candidate
            return {"local": local.type, "remote": remote.type,
                    "local_address": f"{local.host}:{local.port}",
                    "remote_address": f"{remote.host}:{remote.port}",
                    "protocol": local.transport.lower()}
        return {"local": "unknown", "remote": "unknown"}

    async def close(self) -> None:
        await self.pc.close()
