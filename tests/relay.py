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

# (who, direction, frame) -> frames to forward instead (may be empty, or several).
# who: 0 for the first client to connect (the host, in the tests), 1 for the next (the joiner);
# direction: "up" (client to server) or "down" (server to client).
Tamper = Callable[[int, str, str], list[str]]


class Relay:
    def __init__(self, upstream: str, tamper: Tamper | None = None) -> None:
        self.upstream = upstream
        self.tamper = tamper
        self.frames: list[tuple[str, str]] = []
        self.url = ""
        self._clients = 0

    async def _handle(self, client: ServerConnection) -> None:
        who = self._clients
        self._clients += 1
        async with connect(self.upstream) as server:
            async def pump(src, dst, direction: str) -> None:
                try:
                    async for frame in src:
                        self.frames.append((direction, frame))
                        for out in (self.tamper(who, direction, frame) if self.tamper else [frame]):
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


def _bodies(who: int, direction: str, nth: int, change: Callable[[dict, dict], list[dict]]) -> Tamper:
    """Apply `change(message, kept)` to the `nth` body (from 1) that client `who` sends or gets."""
    seen = 0
    kept: dict = {}

    def tamper(w: int, d: str, frame: str) -> list[str]:
        nonlocal seen
        msg = json.loads(frame)
        if (w, d) != (who, direction) or "body" not in msg:
            return [frame]
        seen += 1
        if seen == nth - 1:
            kept.update(msg)
        return [json.dumps(m) for m in change(msg, kept)] if seen == nth else [frame]
    return tamper


def flip_sealed(nth: int, direction: str, who: int) -> Tamper:
    """Flip the last byte of that body."""
    def flip(msg: dict, kept: dict) -> list[dict]:
        raw = bytearray(base64.b64decode(msg["body"]))
        raw[-1] ^= 0x01
        return [{**msg, "body": base64.b64encode(bytes(raw)).decode()}]
    return _bodies(who, direction, nth, flip)


def replay(nth: int, direction: str, who: int) -> Tamper:
    """Replace that body with a copy of the one before it."""
    return _bodies(who, direction, nth, lambda msg, kept: [kept])
