"""A host Session with several participants, over in-process aiortc peers: the roster, group
chat, targeted commands, one controller, passing, removal, and who ends the session."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from rassist.cli.participant_lines import participant_renderers
from rassist.protocol.display import visible_event
from rassist.session import Session
from rassist.transport.peer import Peer
from tests.sessions import WAIT, Events


class Toggle:
    """A host feature with a grantable permission, doing what HostControl does to the session
    (granted set, a message to the peer, an event): without an X server."""

    def __init__(self, name: str = "control") -> None:
        self.name = name
        self.stopped = False
        self.participant: Any = None

    def prepare(self, pc: Any, role: str) -> None:
        pass

    async def start(self, participant: Any) -> None:
        self.participant = participant
        participant.add_permission(self.name, self.grant, self.revoke)

    async def grant(self) -> None:
        self.participant.granted.add(self.name)
        self.participant.ctl.send({"t": "control", "granted": True})
        self.participant.emit("control", state="granted")

    async def revoke(self) -> None:
        self.participant.granted.discard(self.name)
        self.participant.emit("control", state="revoked")

    async def stop(self) -> None:
        self.stopped = True


async def peers() -> tuple[Peer, Peer]:
    host_peer, join_peer = Peer(), Peer()
    offer = await host_peer.offer()
    await host_peer.accept(await join_peer.answer(offer))
    await asyncio.gather(host_peer.wait_open(WAIT), join_peer.wait_open(WAIT))
    return host_peer, join_peer


async def test_two_helpers_chat_take_turns_with_control_and_one_is_removed() -> None:
    hp1, jp1 = await peers()
    host_events = Events()
    toggles = [Toggle(), Toggle()]
    host = Session("host", hp1, "ann", {"view"}, host_events, [toggles[0]], max_joiners=2)
    ann_events = Events()
    ann = Session("join", jp1, "desk", {"view"}, ann_events, [])
    await host.start()
    await ann.start()
    hp2, jp2 = await peers()
    assert host.reserve() is None
    bob_events = Events()
    bob = Session("join", jp2, "desk", {"view"}, bob_events, [])
    await host.admit(hp2, "bob", {"view"}, [toggles[1]])
    await bob.start()
    runs = [asyncio.ensure_future(s.run()) for s in (host, ann, bob)]
    try:
        assert (await host_events.wait("joined"))["participant"] == "p2"
        assert host.reserve() == "the session is full (2 helper(s) at most)"
        roster = await bob_events.wait("participants", you="p2", participants=[
            {"id": "p1", "name": "ann", "permissions": ["view"], "controller": False},
            {"id": "p2", "name": "bob", "permissions": ["view"], "controller": False}])
        assert roster["passing"] is False

        ann.chat("look at the log")
        assert (await host_events.wait("chat", participant="p1"))["from"] == "ann"
        relayed = await bob_events.wait("chat", text="look at the log")
        assert relayed["from"] == "ann" and relayed["participant"] == "p1" and relayed["via"] == "desk"
        assert not [e for e in ann_events.named("chat") if e["from"] != "me"]  # not echoed back

        await host.handle_command({"grant": "control"})
        assert "p1 (ann), p2 (bob)" in (await host_events.wait("error", kind="command"))["message"]
        await host.handle_command({"grant": "control", "to": "p9"})
        assert "no participant 'p9'" in host_events.named("error")[-1]["message"]

        await host.handle_command({"grant": "control", "to": "p1"})
        await host.handle_command({"grant": "control", "to": "p2"})
        assert "control" not in host.participants["p1"].granted
        assert "control" in host.participants["p2"].granted
        assert host.rules.roles.controller == "p2"
        await bob_events.wait("participants", participants=[
            {"id": "p1", "name": "ann", "permissions": ["view"], "controller": False},
            {"id": "p2", "name": "bob", "permissions": ["control", "view"], "controller": True}])

        bob.first.granted.add("control")  # what JoinControl does on the host's "control" message
        await bob.handle_command({"pass": "control", "to": "p1"})
        assert "does not allow" in (await bob_events.wait("error", kind="control"))["message"]
        await host.handle_command({"passing": True})
        await bob.handle_command({"pass": "control", "to": "p1"})
        await host_events.wait("control", state="passed", participant="p2", to="p1")
        assert host.rules.roles.controller == "p1"

        await host.handle_command({"remove": "p2"})
        assert await asyncio.wait_for(runs[2], WAIT) == "removed"
        left = await host_events.wait("left", participant="p2")
        assert left["reason"] == "removed" and "released" not in left
        assert toggles[1].stopped and not toggles[0].stopped
        assert list(host.participants) == ["p1"]
        assert not runs[0].done()  # ann is still there

        await ann.close("quit")  # the last helper leaves: the host's session ends, as with one
        assert await asyncio.wait_for(runs[0], WAIT) == "peer-left"
        assert toggles[0].stopped
    finally:
        for session in (host, ann, bob):
            await session.close("quit")
        for run in runs:  # each closes its peers on the way out
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(run, WAIT)


async def test_a_participant_keeps_its_place_when_its_link_is_replaced() -> None:
    """What resume (issue 18) will do: a fresh peer connection under the same participant."""
    from rassist.participant import Link

    hp1, jp1 = await peers()
    host_events, ann_events = Events(), Events()
    host = Session("host", hp1, "ann", {"view", "files"}, host_events, [])
    ann = Session("join", jp1, "desk", {"view", "files"}, ann_events, [])
    await host.start()
    await ann.start()
    runs = [asyncio.ensure_future(s.run()) for s in (host, ann)]
    try:
        hp2, jp2 = await peers()
        participant = host.participants["p1"]
        old_host, old_join = participant.replace_link(Link(hp2)), ann.first.replace_link(Link(jp2))
        await old_host.close()  # the old connection going down ends nothing now
        await old_join.close()
        ann.chat("still me")
        said = await host_events.wait("chat", text="still me")
        assert said["participant"] == "p1" and said["from"] == "ann"
        assert host.participants["p1"] is participant and participant.granted == {"view", "files"}
        host.chat("welcome back")
        await ann_events.wait("chat", text="welcome back")
        await asyncio.sleep(0.5)
        assert not runs[0].done() and not runs[1].done()
    finally:
        for session in (host, ann):
            await session.close("quit")
        for run in runs:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(run, WAIT)


def test_plain_lines_show_arrivals_departures_and_the_list() -> None:
    lines = participant_renderers()
    joined = visible_event("joined", {"participant": "p2", "peer": "bob\x1b[2J", "granted": ["view"]})
    said = lines["joined"](joined)
    assert said.endswith(" (p2) joined (view).") and "^[" in said and "\x1b" not in said
    assert "control released" in lines["left"]({"participant": "p1", "peer": "ann", "reason": "connection-lost",
                                                "released": "control"})
    one = {"participants": [{"id": "p1", "name": "ann", "permissions": ["view"], "controller": False}]}
    assert lines["participants"](one) is None  # one helper: nothing new to say
    two = {"participants": one["participants"] + [
        {"id": "p2", "name": "bob", "permissions": ["control", "view"], "controller": True}], "you": "p1"}
    said = lines["participants"](two)
    assert said is not None and "ann (you)" in said and "controls" in said
    assert lines["invite-closed"]({"code": "7-a-b", "reason": "used"}) is None
    assert "expired" in lines["invite-closed"]({"code": "7-a-b", "reason": "expired"})


def test_plain_commands_can_name_a_helper() -> None:
    from rassist.cli.drive import parse_line

    assert parse_line("/grant control p2", False) == {"grant": "control", "to": "p2"}
    assert parse_line("/revoke control p12", False) == {"revoke": "control", "to": "p12"}
    assert parse_line("/pass control p1", False) == {"pass": "control", "to": "p1"}
    assert parse_line("/grant control", False) == {"grant": "control"}
    assert parse_line("/remove p3", False) == {"remove": "p3"}
    assert parse_line("/invite", False) == {"invite": True}
    assert parse_line("/send my file p2", False) == {"send": "my file p2"}  # paths are left alone
