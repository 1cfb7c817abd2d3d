"""A joiner that dies or goes quiet while holding keys: the host lets go of everything."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys

import pytest

from rassist.media.control import HostControl

from rassist.media.join_control import JoinControl
from rassist.media.inject import Monitor
from rassist.protocol.input import HOLD_TIMEOUT, Key
from tests.media.input_fixtures import ROOT, WAIT, XServer
from tests.sessions import Events, connected_sessions

pytestmark = pytest.mark.display
SCREEN = Monitor(0, 0, 1920, 1080)

# A joiner in its own process: answers the offer from stdin, holds Shift and B, then idles.
JOINER = """
import asyncio, json, sys
from rassist.media.join_control import JoinControl
from rassist.protocol.input import Key
from rassist.session import Session
from rassist.transport.peer import Peer

async def main():
    peer, control = Peer(), JoinControl()
    control.prepare(peer.pc, "join")
    answer = await peer.answer(json.loads(sys.stdin.readline())["sdp"])
    print(json.dumps({"sdp": answer}), flush=True)
    await peer.wait_open(10)
    session = Session("join", peer, "host", {"view", "control"}, lambda *a, **k: None, [control])
    await session.start()
    await control.wait_granted()
    control.send(Key("shift", True))
    control.send(Key("b", True))
    print(json.dumps({"held": True}), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def readline(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), WAIT)
    assert line, "the joiner process ended early"
    return json.loads(line)


async def test_a_killed_joiner_leaves_no_key_pressed(display_env: str, xserver: XServer) -> None:
    from rassist.session import Session
    from rassist.transport.peer import Peer

    proc = subprocess.Popen([sys.executable, "-c", JOINER], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    control, events = HostControl(SCREEN), Events()
    peer = Peer()
    control.prepare(peer.pc, "host")
    session, runner = None, None
    try:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"sdp": await peer.offer()}) + "\n")
        proc.stdin.flush()
        await peer.accept(str((await readline(proc))["sdp"]))
        await peer.wait_open(WAIT)
        session = Session("host", peer, "joiner", {"view", "control"}, events, [control], peer_timeout=30)
        await session.start()
        runner = asyncio.ensure_future(session.run())
        assert (await readline(proc))["held"]
        await asyncio.to_thread(xserver.wait, lambda: len(xserver.pressed_keycodes()) == 2, "shift and b held")
        os.kill(proc.pid, signal.SIGKILL)  # no goodbye, no SCTP abort: the peer just goes silent
        proc.wait()
        await asyncio.to_thread(xserver.wait, lambda: xserver.pressed_keycodes() == [], "every key released")
        released = await events.wait("input-released")
        print("released on", released["reason"])
        assert released["reason"] in ("peer-silent", "connection-lost", "channel-closed")
        assert sorted(released["released"]) == ["b", "shift"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if session is not None and runner is not None:
            await session.close("quit")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner, WAIT)  # stops the features, closes the peer
        await control.stop()
        await peer.close()
        assert xserver.pressed_keycodes() == []


async def test_a_live_joiner_can_hold_a_key_longer_than_the_watchdog(display_env: str, xserver: XServer) -> None:
    async with connected_sessions([HostControl(SCREEN)], [JoinControl()], {"view", "control"}) as pair:
        join = pair.join.features[0]
        await join.wait_granted()
        join.send(Key("shift", True))
        shift = xserver.keycode("Shift_L")
        await asyncio.to_thread(xserver.wait, lambda: xserver.pressed_keycodes() == [shift], "shift held")
        await asyncio.sleep(HOLD_TIMEOUT + 1.0)  # the joiner's keep-alives hold it down
        assert xserver.pressed_keycodes() == [shift]
        assert pair.host_events.named("input-released") == []
        join.send(Key("shift", False))
        await asyncio.to_thread(xserver.wait, lambda: xserver.pressed_keycodes() == [], "shift released")


async def test_ending_the_session_releases_everything(display_env: str, xserver: XServer) -> None:
    host = HostControl(SCREEN)
    async with connected_sessions([host], [JoinControl()], {"view", "control"}) as pair:
        await pair.join.features[0].wait_granted()
        pair.join.features[0].send(Key("ctrl", True))
        await asyncio.to_thread(xserver.wait, lambda: len(xserver.pressed_keycodes()) == 1, "ctrl held")
        await pair.host.close("quit")
        await asyncio.wait_for(pair.tasks[0], WAIT)  # host.run() returns after stopping its features
        assert xserver.pressed_keycodes() == []
        assert host.injector is None
