"""JSON messages over one data channel, dispatched by their "t" key.

The peer is authenticated but not trusted: a malformed message is counted and dropped, never
allowed to raise into aiortc's event loop callbacks."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCDataChannel

from rassist.protocol.jsonwire import loads
from rassist.transport.peer import Peer

Handler = Callable[[dict[str, Any]], Awaitable[None] | None]
MAX_MESSAGE = 256 * 1024
log = logging.getLogger("rassist.channel")


class Dispatch:
    """Handlers by a message's "t"; a coroutine handler runs as a task whose failure is logged,
    never raised into aiortc's callbacks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: dict[str, Handler] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def on(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def __call__(self, msg: dict[str, Any]) -> bool:
        """Whether a handler took `msg`."""
        kind = msg.get("t")
        handler = self.handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            return False
        result = handler(msg)
        if asyncio.iscoroutine(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("handler failed on %s", self.name, exc_info=task.exception())


class MessageChannel:
    def __init__(self, peer: Peer, label: str) -> None:
        self.dc: RTCDataChannel = peer.channels[label]
        self._peer = peer
        self._label = label
        self._dispatch = Dispatch(label)
        self.rejected = 0
        self.on_any: Callable[[], None] | None = None  # liveness hook: any message at all

    def start(self) -> None:
        """Begin dispatching (earlier messages included) once the handlers are registered."""
        self._peer.listen(self._label, self._on_message)

    def on(self, kind: str, handler: Handler) -> None:
        self._dispatch.on(kind, handler)

    def send(self, msg: dict[str, Any]) -> None:
        if self.dc.readyState == "open":
            self.dc.send(json.dumps(msg, separators=(",", ":")))

    def _on_message(self, data: str | bytes) -> None:
        if self.on_any is not None:
            self.on_any()
        try:
            if len(data) > MAX_MESSAGE:
                raise ValueError("too large")
            msg = loads(data)
            if not isinstance(msg, dict) or not isinstance(msg.get("t"), str):
                raise ValueError('not an object with a "t" key')
        except ValueError as exc:
            self.rejected += 1
            log.debug("dropped a malformed message on %s: %s", self.dc.label, exc)
            return
        if not self._dispatch(msg):
            self.rejected += 1
