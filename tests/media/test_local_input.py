"""Local input wins, under Xvfb: remote input works, input from another X client (xdotool, as
the person at the host would type) pauses it and the controller is told, then it works again.
Our own injected events must not count as local input."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest

from rassist.media.control import HostControl

from rassist.media.join_control import JoinControl
from rassist.media.inject import Monitor
from rassist.media.local_input import LocalInputWatch
from tests.media.input_fixtures import KeyLog
from tests.sessions import connected_sessions

SCREEN = Monitor(0, 0, 1920, 1080)
pytestmark = [pytest.mark.display,
              pytest.mark.skipif(shutil.which("xdotool") is None,
                                 reason="xdotool is not installed: scripts/test.sh installs it")]


def local_key(display: str, key: str) -> None:
    """A key typed by someone else than rassist: xdotool is another X client faking input."""
    subprocess.run(["xdotool", "key", key], env={**os.environ, "DISPLAY": display}, check=True, timeout=10)


async def test_our_own_input_is_not_taken_for_local_input(display_env: str, keylog: KeyLog) -> None:
    watch = LocalInputWatch()
    async with connected_sessions([HostControl(SCREEN, local=watch)], [JoinControl()],
                                  {"view", "control"}) as pair:
        await pair.join_events.wait("control", state="granted")
        for cmd in ({"move": [0.5, 0.5]}, {"click": [0.4, 0.4]}, {"text": "abc"}, {"key": "ctrl+shift+x"},
                    {"scroll": [0, 2]}, {"move": [0.6, 0.6]}):
            await pair.join.handle_command(cmd)
        await asyncio.to_thread(keylog.until, lambda e: e["type"] == "KeyRelease" and e["key"] == "Control_L")
        await asyncio.sleep(1.0)  # time for every echo to come back from the X server
        assert watch.error is None
        assert watch.guard.local_events == 0
        assert [e for e in pair.join_events.named("control") if e["state"] == "paused"] == []


async def test_local_input_pauses_remote_input_and_the_controller_is_told(display_env: str, keylog: KeyLog) -> None:
    # 2 s instead of the default 1 s: the test must get its own key in while input is paused.
    watch = LocalInputWatch(suspend=2.0)
    async with connected_sessions([HostControl(SCREEN, local=watch)], [JoinControl()],
                                  {"view", "control"}) as pair:
        await pair.join_events.wait("control", state="granted")
        await pair.join.handle_command({"text": "a"})
        got = await asyncio.to_thread(keylog.take, 2)
        assert [e["key"] for e in got] == ["a", "a"]

        await asyncio.to_thread(local_key, display_env, "F7")
        paused = await pair.join_events.wait("control", state="paused")
        assert "using the mouse or keyboard" in paused["reason"]
        await pair.host_events.wait("control", state="paused", reason="local-input")
        await pair.join.handle_command({"text": "b"})  # dropped: the person at the host has it

        await pair.join_events.wait("control", state="resumed")
        await pair.host_events.wait("control", state="resumed")
        await pair.join.handle_command({"text": "c"})
        got = await asyncio.to_thread(keylog.until, lambda e: e["type"] == "KeyRelease" and e["key"] == "c")
        assert [(e["type"], e["key"]) for e in got] == [
            ("KeyPress", "F7"), ("KeyRelease", "F7"), ("KeyPress", "c"), ("KeyRelease", "c")]
        assert watch.guard.local_events == 2  # F7 down and up


def test_real_processes_tell_the_controller_when_the_host_takes_over(display_env: str, keylog: KeyLog,
                                                                     tmp_path, monkeypatch) -> None:
    from tests.procs import Proc, rendezvous_server

    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path / "registry"))
    with rendezvous_server() as server:
        host = Proc(["host", "--json", "--server", server, "--name", "desk", "--allow", "control"])
        join = None
        try:
            code = host.wait_event("code")["code"]
            join = Proc(["join", code, "--json", "--server", server, "--name", "helper", "--control"])
            join.wait_event("control", state="granted")
            join.send({"key": "q"})
            assert [e["key"] for e in keylog.take(2)] == ["q", "q"]
            local_key(display_env, "F8")
            assert "using the mouse or keyboard" in join.wait_event("control", state="paused")["reason"]
            host.wait_event("control", state="paused", peer="helper")
            join.wait_event("control", state="resumed")
            join.send({"key": "w"})
            got = keylog.until(lambda e: e["type"] == "KeyRelease" and e["key"] == "w")
            assert [e["key"] for e in got] == ["F8", "F8", "w", "w"]
            join.send({"quit": True})
            assert join.wait_exit() == 0 and host.wait_exit() == 0
        finally:
            if join is not None:
                join.kill()
            host.kill()
