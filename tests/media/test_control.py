"""Remote control over two real aiortc peers and real Sessions, injecting into Xvfb."""

from __future__ import annotations

import asyncio
import json

import pytest

from rassist.media.control import HostControl

from rassist.media.join_control import JoinControl
from rassist.media.inject import Monitor
from rassist.protocol.input import Key, Move, encode
from tests.media.input_fixtures import KeyLog, XServer, xdotool_location
from tests.sessions import connected_sessions

SCREEN = Monitor(0, 0, 1920, 1080)
pytestmark = pytest.mark.display


async def settle(xs: XServer, condition, what: str) -> None:
    """Wait (off the event loop) until the X server shows `condition`."""
    await asyncio.to_thread(xs.wait, condition, what)


async def until(condition, what: str, timeout: float = 10.0) -> None:
    """Wait on the event loop until `condition()` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_a_click_lands_at_its_pixel(display_env: str, keylog: KeyLog) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view", "control"}) as pair:
        await pair.host_events.wait("control", state="granted")
        await pair.join.handle_command({"click": [0.25, 0.75]})
        press, release = await asyncio.to_thread(keylog.take, 2)
        assert (press["type"], press["code"], press["x"], press["y"]) == ("ButtonPress", 1, 480, 810)
        assert release["type"] == "ButtonRelease"
        assert xdotool_location(display_env) == (480, 810)
        assert pair.join_events.named("error") == []


async def test_text_and_a_chord_reach_the_focused_window(display_env: str, keylog: KeyLog) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view", "control"}) as pair:
        await pair.join.handle_command({"text": "ok"})
        await pair.join.handle_command({"key": "ctrl+alt+t"})
        got = await asyncio.to_thread(keylog.take, 10)
        assert [(e["type"][3:], e["key"]) for e in got] == [
            ("Press", "o"), ("Release", "o"), ("Press", "k"), ("Release", "k"),
            ("Press", "Control_L"), ("Press", "Alt_L"), ("Press", "t"),
            ("Release", "t"), ("Release", "Alt_L"), ("Release", "Control_L")]
        assert pair.join_events.named("error") == []


async def test_a_view_only_peer_has_no_effect_and_is_counted(display_env: str, keylog: KeyLog,
                                                              xserver: XServer) -> None:
    host = HostControl(SCREEN)
    async with connected_sessions([host], [JoinControl()], {"view"}) as pair:
        before = xserver.pointer()
        # Through the joiner's commands: refused on its own side, with an error event.
        await pair.join.handle_command({"click": [0.9, 0.9]})
        error = await pair.join_events.wait("error")
        assert "control is not granted" in error["message"]
        # Straight onto the wire, as a misbehaving peer would: dropped by the host.
        dc = pair.join.channel("input")
        for event in [Move(0.9, 0.9), Key("x", True), Key("x", False)]:
            dc.send(encode(event))
        report = await pair.host_events.wait("input-refused", reason="no-permission")
        assert report["count"] >= 1 and report["peer"] == "joiner"
        await pair.join_events.wait("error", kind="input-refused")
        # Then control is granted and one key goes through: it is the first thing the window sees.
        await pair.host.handle_command({"grant": "control"})
        await pair.join_events.wait("control", state="granted")
        await pair.join.handle_command({"key": "z"})
        first = await asyncio.to_thread(keylog.take, 1)
        assert (first[0]["type"], first[0]["key"]) == ("KeyPress", "z")
        assert xserver.pointer() == before
        assert host.gate.refused["no-permission"] == 3


async def test_malformed_out_of_range_and_flooding_events_are_refused(display_env: str, keylog: KeyLog,
                                                                      xserver: XServer) -> None:
    host = HostControl(SCREEN, rate=200, burst=50)
    async with connected_sessions([host], [JoinControl()], {"view", "control"}) as pair:
        dc = pair.join.channel("input")
        for raw in ["{", "[]", '{"t":"move","x":0.5}', '{"t":"key","k":"hyper","d":true}',
                    '{"t":"move","x":1.5,"y":0.5}', '{"t":"move","x":0.5,"y":-0.1}', b"\xff\x00"]:
            dc.send(raw)
        await pair.host_events.wait("input-refused", reason="malformed")
        await pair.host_events.wait("input-refused", reason="out-of-range")
        for _ in range(2000):
            dc.send(encode(Move(0.01, 0.01)))
        await pair.host_events.wait("input-refused", reason="rate-limited")
        await until(lambda: host.received == 2007, "the whole flood to arrive")
        # The session goes on: a key still arrives, and nothing of the garbage did.
        await asyncio.sleep(0.3)  # let the bucket refill (200/s)
        await pair.join.handle_command({"key": "q"})
        got = await asyncio.to_thread(keylog.until, lambda e: e["type"] == "KeyPress")
        assert got[-1]["key"] == "q" and len(got) == 1
        await pair.join.handle_command({"move": [0.5, 0.5]})
        await settle(xserver, lambda: xserver.pointer()[:2] == (960, 540), "the pointer at the centre")
        assert host.gate.refused["malformed"] == 5 and host.gate.refused["out-of-range"] == 2
        assert host.gate.refused["rate-limited"] > 1000
        assert sum(r["count"] for r in pair.host_events.named("input-refused")) <= sum(host.gate.refused.values())


async def test_revoking_releases_held_keys_and_stops_input(display_env: str, xserver: XServer) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view", "control"}) as pair:
        join = pair.join.features[0]
        await join.wait_granted()
        join.send(Key("ctrl", True))
        join.send(Key("shift", True))
        held = {xserver.keycode("Control_L"), xserver.keycode("Shift_L")}
        await settle(xserver, lambda: set(xserver.pressed_keycodes()) == held, "ctrl and shift held")
        await pair.host.handle_command({"revoke": "control"})
        assert xserver.pressed_keycodes() == []  # released before the command returns
        released = await pair.host_events.wait("input-released", reason="revoked")
        assert released["released"] == ["shift", "ctrl"]
        await pair.host_events.wait("control", state="revoked")
        await pair.join_events.wait("control", state="revoked")
        await pair.join.handle_command({"key": "a"})
        error = await pair.join_events.wait("error")
        assert "control is not granted" in error["message"]
        await pair.host.handle_command({"revoke": "control"})
        assert (await pair.host_events.wait("error"))["message"] == "control is not granted"


async def test_the_joiner_can_ask_for_control_later(display_env: str, xserver: XServer) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view"}) as pair:
        await pair.join.handle_command({"request": "control"})
        await pair.join_events.wait("control", state="requested")
        await pair.host_events.wait("control-request", peer="joiner")
        assert pair.host_events.named("control") == []  # nothing granted until the host says so
        await pair.host.handle_command({"grant": "control"})
        await pair.join_events.wait("control", state="granted")
        await pair.join.handle_command({"move": [0.75, 0.25]})
        await settle(xserver, lambda: xserver.pointer()[:2] == (1440, 270), "the pointer moved")
        await pair.join.handle_command({"request": "files"})
        assert 'request takes "control"' in (await pair.join_events.wait("error"))["message"]


async def test_a_host_prompt_can_decline_a_request(display_env: str) -> None:
    asked: list[str] = []

    async def ask(peer: str) -> bool:
        asked.append(peer)
        return False

    async with connected_sessions([HostControl(SCREEN, ask=ask)], [JoinControl()], {"view"}) as pair:
        await pair.join.handle_command({"request": "control"})
        declined = await pair.join_events.wait("control", state="declined")
        assert declined["reason"] == "declined by the host"
        assert asked == ["joiner"] and "control" not in pair.host.granted


async def test_a_disconnect_while_a_key_is_held_leaves_no_key_pressed(display_env: str, xserver: XServer) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view", "control"}) as pair:
        join = pair.join.features[0]
        await join.wait_granted()
        join.send(Key("shift", True))
        join.send(Key("b", True))
        await settle(xserver, lambda: len(xserver.pressed_keycodes()) == 2, "shift and b held")
        await pair.join.peer.pc.close()  # the joiner's connection drops without a goodbye
        await settle(xserver, lambda: xserver.pressed_keycodes() == [], "every key released")
        released = await pair.host_events.wait("input-released")
        assert sorted(released["released"]) == ["b", "shift"]
        print("released on", released["reason"])


async def test_moves_are_coalesced_and_the_last_one_wins(display_env: str, xserver: XServer) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view", "control"}) as pair:
        join = pair.join.features[0]
        for step in range(1, 201):
            await pair.join.handle_command({"move": [step / 400, step / 400]})
        assert join.sent < 50  # one per frame at most, the first at once
        print("sent", join.sent, "of 200 moves")
        await settle(xserver, lambda: xserver.pointer()[:2] == (960, 540), "the pointer at the last move")


async def test_host_commands_check_their_argument(display_env: str) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view"}) as pair:
        await pair.host.handle_command({"grant": "everything"})
        assert 'grant takes "control"' in (await pair.host_events.wait("error"))["message"]
        assert json.dumps(pair.host_events.items)  # every event is JSON-serialisable


async def test_a_chord_refused_halfway_lets_go_of_its_first_keys(display_env: str, xserver: XServer) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view", "control"}) as pair:
        join = pair.join.features[0]
        await join.wait_granted()
        letters = "abcdefghijklmno"  # 15 held: room for one more key, not two
        for letter in letters:
            join.send(Key(letter, True))
        held = {xserver.keycode(letter) for letter in letters}
        await settle(xserver, lambda: set(xserver.pressed_keycodes()) == held, "15 letters held")
        await pair.join.handle_command({"key": "ctrl+alt"})
        assert "already held" in (await pair.join_events.wait("error"))["message"]
        join.send(Key("p", True))  # a marker after the rollback: ctrl must be up by then
        marker = held | {xserver.keycode("p")}
        await settle(xserver, lambda: set(xserver.pressed_keycodes()) == marker, "ctrl released, p held")
        await pair.host.handle_command({"revoke": "control"})
        assert xserver.pressed_keycodes() == []
