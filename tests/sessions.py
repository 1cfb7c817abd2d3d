"""Two real Sessions in one process, joined by in-process aiortc peers (SDP handed over, no
rendezvous), and an emit() that records what each side says."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from rassist.session import Session
from rassist.transport.peer import Peer

WAIT = 20.0


@dataclass
class Events:
    """An emit() that records events ({"event": name, **fields}) and can wait for one."""

    items: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: str, **fields: Any) -> None:
        self.items.append({"event": event, **fields})
        self.changed.set()

    def named(self, name: str) -> list[dict[str, Any]]:
        return [item for item in self.items if item["event"] == name]

    async def wait(self, name: str, timeout: float = WAIT, **match: Any) -> dict[str, Any]:
        """The first event named `name` with these field values (waits for it if need be)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for item in self.named(name):
                if all(item.get(k) == v for k, v in match.items()):
                    return item
            self.changed.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                pytest.fail(f"no {name} event matching {match}; got {self.items}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


async def session_pair(host_features: list[Any], join_features: list[Any],
                       granted: set[str] = frozenset({"files"})) -> tuple[Session, Session, Events, Events]:
    """(host, joiner, host's events, joiner's events), connected and started; `granted` is
    what the joiner may do."""
    host_peer, join_peer = Peer(), Peer()
    for feature in host_features:
        feature.prepare(host_peer.pc, "host")
    offer = await host_peer.offer()
    for feature in join_features:
        feature.prepare(join_peer.pc, "join")
    await host_peer.accept(await join_peer.answer(offer))
    await asyncio.gather(host_peer.wait_open(WAIT), join_peer.wait_open(WAIT))
    host_events, join_events = Events(), Events()
    host = Session("host", host_peer, "joiner", set(granted), host_events, host_features)
    join = Session("join", join_peer, "host", set(granted), join_events, join_features)
    await host.start()
    await join.start()
    return host, join, host_events, join_events


async def close_sessions(*sessions: Session) -> None:
    for session in sessions:
        await session.close("quit")
    for session in sessions:
        with contextlib.suppress(Exception):  # a lost connection at the very end is fine here
            await asyncio.wait_for(session.run(), WAIT)


@dataclass
class Pair:
    host: Session
    join: Session
    host_events: Events
    join_events: Events
    tasks: list[asyncio.Task[Any]]


@contextlib.asynccontextmanager
async def connected_sessions(host_features: list[Any], join_features: list[Any],
                             granted: set[str]) -> AsyncIterator[Pair]:
    """session_pair() with both sessions running, closed on the way out."""
    host, join, host_events, join_events = await session_pair(host_features, join_features, granted)
    tasks = [asyncio.ensure_future(host.run()), asyncio.ensure_future(join.run())]
    try:
        yield Pair(host, join, host_events, join_events, tasks)
    finally:
        for session in (join, host):
            with contextlib.suppress(Exception):
                await session.close()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, WAIT)
