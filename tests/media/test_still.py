"""The host's side of stills: only for a joiner allowed to view, one a second, errors told."""

import asyncio

from rassist.media.still import HostStill
from rassist.protocol import still


class FakeCtl:
    def __init__(self):
        self.sent = []
        self.handlers = {}

    def on(self, kind, handler):
        self.handlers[kind] = handler

    def send(self, msg):
        self.sent.append(msg)


class FakeSession:
    def __init__(self, granted):
        self.granted = set(granted)
        self.ctl = FakeCtl()


async def settle(host: HostStill) -> None:
    if host._busy is not None:
        await asyncio.wait_for(host._busy, 10)


async def test_a_joiner_without_view_gets_no_still():
    host, session = HostStill(), FakeSession({"files"})
    await host.start(session)
    session.ctl.handlers[still.REQUEST](still.request(1))
    assert session.ctl.sent == [still.error(1, "viewing the screen is not allowed")]


async def test_no_display_is_told_and_requests_are_rate_limited(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    host, session = HostStill(), FakeSession({"view"})
    await host.start(session)
    session.ctl.handlers[still.REQUEST](still.request(1))
    session.ctl.handlers[still.REQUEST](still.request(2))  # at once: refused
    await settle(host)
    replies = {m["id"]: m for m in session.ctl.sent}
    assert "DISPLAY" in replies[1]["error"]
    assert "one a second" in replies[2]["error"]
    session.ctl.handlers[still.REQUEST]({"t": still.REQUEST, "id": "x"})  # malformed: ignored
    assert len(session.ctl.sent) == 2
