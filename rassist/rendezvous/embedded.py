"""The rendezvous server a host runs in-process when no --server is configured."""

from __future__ import annotations

from dataclasses import dataclass

from websockets.asyncio.server import Server

from rassist.rendezvous.local import Announcement
from rassist.rendezvous.server import RendezvousServer


@dataclass
class Embedded:
    server: Server
    announce: Announcement
    url: str

    @classmethod
    async def start(cls, host: str = "0.0.0.0") -> Embedded:
        running = await RendezvousServer(random_nameplates=True).start(host, 0)
        port = running.sockets[0].getsockname()[1]
        return cls(running, Announcement(port), f"ws://127.0.0.1:{port}")

    async def stop(self) -> None:
        await self.announce.close()
        self.server.close()
        await self.server.wait_closed()
