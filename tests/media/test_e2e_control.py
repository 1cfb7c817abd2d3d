"""Remote control end to end: real `rassist host` and `rassist join` processes under Xvfb."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.media.input_fixtures import KeyLog, XServer, xdotool_location
from tests.procs import Proc, rendezvous_server

pytestmark = pytest.mark.display


@pytest.fixture
def server(tmp_path, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path / "registry"))  # no chance meetings
    with rendezvous_server() as url:
        yield url


def pair(server: str, host_args: list[str], join_args: list[str]) -> tuple[Proc, Proc]:
    host = Proc(["host", "--json", "--server", server, "--name", "desk", *host_args])
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", server, "--name", "helper", *join_args])
    return host, join


def test_allowed_control_drives_the_host_screen(display_env: str, server: str, keylog: KeyLog,
                                                xserver: XServer) -> None:
    host, join = pair(server, ["--allow", "control"], ["--control"])
    try:
        assert "control" in join.wait_event("connected")["granted"]
        host.wait_event("control", state="granted", peer="helper")  # the host's indicator
        join.wait_event("control", state="granted")
        join.send({"click": [0.25, 0.75]})
        press, _ = keylog.take(2)
        assert (press["type"], press["code"], press["x"], press["y"]) == ("ButtonPress", 1, 480, 810)
        assert xdotool_location(display_env) == (480, 810)
        join.send({"text": "Hi"})
        join.send({"key": "ctrl+alt+t"})
        got = keylog.take(12)
        assert [(e["type"][3:], e["key"]) for e in got] == [
            ("Press", "Shift_L"), ("Press", "H"), ("Release", "H"), ("Release", "Shift_L"),
            ("Press", "i"), ("Release", "i"),
            ("Press", "Control_L"), ("Press", "Alt_L"), ("Press", "t"),
            ("Release", "t"), ("Release", "Alt_L"), ("Release", "Control_L")]
        join.send({"scroll": [0, 1]})
        assert [e["code"] for e in keylog.take(2)] == [5, 5]

        # The host takes control back; the joiner's commands become errors; it asks again.
        host.send({"revoke": "control"})
        host.wait_event("control", state="revoked")
        join.wait_event("control", state="revoked")
        join.send({"click": [0.5, 0.5]})
        assert "control is not granted" in join.wait_event("error")["message"]
        join.send({"request": "control"})
        host.wait_event("control-request", peer="helper")
        host.send({"grant": "control"})
        join.wait_event("control", state="granted")
        join.send({"key": "z"})
        assert [e["key"] for e in keylog.take(2)] == ["z", "z"]
        assert xserver.pressed_keycodes() == []

        join.send({"move": [2, 0.5]})
        assert "outside 0..1" in join.wait_event("error")["message"]
        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0
    finally:
        join.kill()
        host.kill()


def test_view_only_joiner_cannot_drive(display_env: str, server: str, keylog: KeyLog, xserver: XServer) -> None:
    host, join = pair(server, ["--yes"], ["--control"])  # --yes grants view only
    try:
        assert join.wait_event("connected")["granted"] == ["view"]
        before = xserver.pointer()
        join.send({"click": [0.9, 0.1]})
        error = join.wait_event("error")
        assert error["kind"] == "command" and "control is not granted" in error["message"]
        join.send({"request": "control"})
        host.wait_event("control-request", peer="helper")
        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0
        assert xserver.pointer() == before
        assert not any(e["event"] == "control" and e.get("state") == "granted" for e in host.drain())
    finally:
        join.kill()
        host.kill()
