"""The "ctl" data channel under a hostile peer: whatever arrives, MessageChannel drops what does
not parse and the Session's and the control features' handlers raise nothing.

The peer connection is a stand-in (only what Session and MessageChannel touch): the test is
about parsing and handling, not about aiortc."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rassist.media.control import HostControl

from rassist.media.join_control import JoinControl
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


async def test_a_chat_flood_is_cut_to_a_readable_rate_and_reported():
    events: list[dict[str, Any]] = []
    peer = FakePeer()
    session = Session("host", peer, "mallory", {"view"}, lambda e, **f: events.append({"event": e, **f}), [])
    await session.start()
    for i in range(500):
        peer.listeners["ctl"](f'{{"t":"chat","text":"line {i}"}}')
    chats = [e for e in events if e["event"] == "chat"]
    errors = [e for e in events if e["event"] == "error"]
    assert 30 <= len(chats) <= 35 and session.chat_dropped == 500 - len(chats)
    assert errors and errors[0]["kind"] == "flood" and len(errors) <= 5


async def test_a_flood_of_file_offers_leaves_a_few_questions_and_declines_the_rest():
    from rassist.transfer.feature import MAX_PENDING_OFFERS, FilesFeature

    events: list[dict[str, Any]] = []
    peer = FakePeer()
    feature = FilesFeature()
    session = Session("host", peer, "mallory", {"view", "files"},
                      lambda e, **f: events.append({"event": e, **f}), [feature])  # type: ignore[list-item]
    await session.start()
    for i in range(100):
        offer = {"t": "file-offer", "id": f"{i:016x}", "key": "0" * 32, "names": [], "files": 0, "dirs": 0,
                 "total": 5, "more": 0, "text": "hello"}
        peer.listeners["ctl"](json.dumps(offer))
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert len(feature.pending()) == MAX_PENDING_OFFERS
    assert len([e for e in events if e["event"] == "file-offer"]) == MAX_PENDING_OFFERS
    declined = [m for m in peer.channels["ctl"].sent if "too many offers" in m]
    assert len(declined) == 100 - MAX_PENDING_OFFERS
    await feature.stop()
