"""A man-in-the-middle rendezvous relay for tests: records every frame, can tamper or replay.

It runs its own event loop in a thread, so synchronous tests driving real processes can use it."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

# (direction "up"/"down", frame) -> frames to forward instead (may be empty, or several)
Tamper = Callable[[str, str], list[str]]


class Relay:
    def __init__(self, upstream: str, tamper: Tamper | None = None) -> None:
        self.upstream = upstream
        self.tamper = tamper
        self.frames: list[tuple[str, str]] = []
        self.url = ""

    async def _handle(self, client: ServerConnection) -> None:
        async with connect(self.upstream) as server:
            async def pump(src, dst, direction: str) -> None:
                try:
                    async for frame in src:
                        self.frames.append((direction, frame))
                        for out in (self.tamper(direction, frame) if self.tamper else [frame]):
                            await dst.send(out)
                except ConnectionClosed:
                    pass
                await dst.close()

            await asyncio.gather(pump(client, server, "up"), pump(server, client, "down"))

    def text(self) -> str:
        """Everything relayed, with bodies base64-decoded, as one string to search."""
        parts = []
        for _, frame in self.frames:
            parts.append(frame)
            body = json.loads(frame).get("body")
            if body:
                parts.append(base64.b64decode(body).decode("latin-1"))
        return "\n".join(parts)


@contextmanager
def relay(upstream: str, tamper: Tamper | None = None) -> Iterator[Relay]:
    r = Relay(upstream, tamper)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        stop = loop.create_future()
        async with serve(r._handle, "127.0.0.1", 0) as server:
            r.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            ready.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield r
    finally:
        loop.call_soon_threadsafe(lambda: stop is not None and not stop.done() and stop.set_result(None))
        thread.join(10)


def flip_sealed(nth: int, direction: str = "down") -> Tamper:
    """Flip one byte in the `nth` relayed body going `direction` (counting from 1)."""
    seen = 0

    def tamper(d: str, frame: str) -> list[str]:
        nonlocal seen
        msg = json.loads(frame)
        if d == direction and msg.get("op") in ("message", "send") and "body" in msg:
            seen += 1
            if seen == nth:
                raw = bytearray(base64.b64decode(msg["body"]))
                raw[-1] ^= 0x01
                msg["body"] = base64.b64encode(bytes(raw)).decode()
                return [json.dumps(msg)]
        return [frame]
    return tamper


def replay(nth: int, direction: str = "down") -> Tamper:
    """Send the `nth` body going `direction` twice: the copy replaces the next message."""
    seen = 0
    kept: str | None = None

    def tamper(d: str, frame: str) -> list[str]:
        nonlocal seen, kept
        msg = json.loads(frame)
        if d == direction and msg.get("op") in ("message", "send"):
            seen += 1
            if seen == nth:
                kept = frame
            elif seen == nth + 1 and kept is not None:
                return [kept]
        return [frame]
    return tamper
