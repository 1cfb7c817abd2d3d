"""The "ctl" data channel under a hostile peer: whatever arrives, MessageChannel drops what does
not parse and the Session's and the control features' handlers raise nothing.

The peer connection is a stand-in (only what Session and MessageChannel touch): the test is
about parsing and handling, not about aiortc."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rassist.media.control import HostControl, JoinControl
from rassist.session import Session
from tests.protocol.hostile import hostile_json_text

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CTL_MESSAGES = [{"t": "chat", "text": "hi"}, {"t": "ping", "n": 1}, {"t": "pong", "n": 1}, {"t": "bye"},
                {"t": "control", "granted": True, "reason": "x"}, {"t": "control-request"},
                {"t": "input-refused", "reason": "malformed", "count": 2, "message": "m"}]


class FakeChannel:
    def __init__(self, label: str) -> None:
        self.label = label
        self.readyState = "open"
        self.bufferedAmount = 0
        self.sent: list[Any] = []

    def send(self, data: Any) -> None:
        self.sent.append(data)

    def on(self, name: str, callback: Any = None) -> Any:
        return callback if callback is not None else (lambda f: f)


class FakePeerConnection:
    connectionState = "connected"

    def on(self, name: str) -> Any:
        return lambda f: f


class FakePeer:
    def __init__(self) -> None:
        self.pc = FakePeerConnection()
        self.channels = {label: FakeChannel(label) for label in ("ctl", "input", "files", "bulk")}
        self.listeners: dict[str, Any] = {}

    def listen(self, label: str, callback: Any) -> None:
        self.listeners[label] = callback

    def route(self) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        pass


class Failures(logging.Handler):
    """Handler failures: MessageChannel logs them with their exception."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


async def feed(role: str, messages: list[str | bytes]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    peer = FakePeer()
    feature = HostControl() if role == "host" else JoinControl()
    session = Session(role, peer, "mallory", {"view"}, lambda e, **f: events.append({"event": e, **f}),
                      [feature])  # type: ignore[arg-type]
    await session.start()
    for message in messages:
        peer.listeners["ctl"](message)
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)  # let handler tasks run
    await feature.stop()
    return events


@SETTINGS
@given(st.sampled_from(["host", "join"]),
       st.lists(st.one_of(*[hostile_json_text(m) for m in CTL_MESSAGES]), min_size=1, max_size=6))
def test_hostile_ctl_messages_are_dropped_or_handled_never_raised(role, messages):
    failures = Failures()
    logging.getLogger("rassist").addHandler(failures)
    try:
        events = asyncio.run(feed(role, messages))
    finally:
        logging.getLogger("rassist").removeHandler(failures)
    assert not failures.records, [r.getMessage() for r in failures.records]
    for event in events:
        if event["event"] == "chat":
            assert isinstance(event["text"], str) and len(event["text"]) <= 4000


async def test_a_flood_of_control_requests_asks_the_host_once_at_a_time_and_rarely():
    events: list[dict[str, Any]] = []
    questions: list[str] = []
    answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    async def ask(peer: str) -> bool:
        questions.append(peer)
        return await answer

    peer = FakePeer()
    feature = HostControl(ask=ask)
    session = Session("host", peer, "mallory", {"view"}, lambda e, **f: events.append({"event": e, **f}),
                      [feature])  # type: ignore[arg-type]
    await session.start()
    for _ in range(200):
        peer.listeners["ctl"]('{"t":"control-request"}')
        await asyncio.sleep(0)
    assert len(questions) == 1  # one question at a time
    answer.set_result(False)
    await asyncio.sleep(0.01)
    for _ in range(200):
        peer.listeners["ctl"]('{"t":"control-request"}')
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert len(questions) <= 3 and len([e for e in events if e["event"] == "control-request"]) <= 3
    refusals = [m for m in peer.channels["ctl"].sent if '"asked too often' in m]
    assert refusals  # the joiner is told why, not left waiting
    await feature.stop()
