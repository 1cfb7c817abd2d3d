"""Pointing and drawing end to end: real `rassist host` and `rassist join` processes under Xvfb."""

from __future__ import annotations

import time
from collections.abc import Iterator

import av
import pytest

from tests.media.input_fixtures import KeyLog
from tests.media.test_overlay import pixel, reddish, until
from tests.procs import Proc, rendezvous_server

pytestmark = pytest.mark.display
WHITE = (255, 255, 255)


@pytest.fixture
def server(tmp_path, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path / "registry"))  # no chance meetings
    with rendezvous_server() as url:
        yield url


@pytest.fixture
def white_window(keylog: KeyLog) -> None:
    """A full-screen white window under the overlay: it repaints what a cleared mark uncovers,
    as real windows do (paint on the root window would not come back)."""


def pair(server: str, host_args: list[str], join_args: list[str],
         host_env: dict[str, str] | None = None) -> tuple[Proc, Proc]:
    host = Proc(["host", "--json", "--server", server, "--name", "desk", *host_args], env=host_env)
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", server, "--name", "helper", *join_args])
    return host, join


def test_a_helper_points_and_draws_on_the_host_screen(display_env: str, server: str, white_window: None,
                                                      tmp_path) -> None:
    video = tmp_path / "seen.mkv"
    host, join = pair(server, ["--yes"], ["--record", str(video)])
    try:
        join.wait_event("connected")
        join.wait_event("annotate", state="granted")  # comes with view, unasked
        host.wait_event("annotate", state="granted", peer="helper")
        join.send({"point": [0.5, 0.5]})
        until(lambda: reddish(pixel(960, 540)), "the helper's pointer on the host's screen")
        join.send({"draw": [[0.1, 0.3], [0.4, 0.3]], "pin": True})
        join.send({"label": "this one", "at": [0.7, 0.8], "pin": True})
        until(lambda: reddish(pixel(400, 324)), "the stroke")  # 0.3 of 1080 = 324
        assert host.wait_event("mark", kind="draw")["peer"] == "helper"
        host.wait_event("mark", kind="label")
        assert pixel(400, 360) == WHITE  # nothing but the marks changed
        join.send({"draw": [[2, 0]]})
        assert "outside the screen" in join.wait_event("error")["message"]
        join.wait_event("screen", state="receiving")
        time.sleep(2.0)  # the viewer's picture catches up with the marks
        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0
    finally:
        join.kill()
        host.kill()
    with av.open(str(video)) as container:
        last = None
        for frame in container.decode(container.streams.video[0]):
            last = frame
    assert last is not None
    seen = last.to_ndarray(format="rgb24")
    r, g, b = (int(v) for v in seen[324, 400])
    assert r > 180 and g < 110 and b < 110, (r, g, b)  # the recording shows the stroke


def test_the_host_revokes_and_clears(display_env: str, server: str, white_window: None) -> None:
    host, join = pair(server, ["--yes"], [])
    try:
        join.wait_event("annotate", state="granted")
        join.send({"draw": [[0.5, 0.1], [0.5, 0.2]], "pin": True})
        until(lambda: reddish(pixel(960, 162)), "the stroke")
        host.send({"clear": True})
        until(lambda: pixel(960, 162) == WHITE, "the host's clear")
        host.send({"revoke": "annotate"})
        join.wait_event("annotate", state="revoked")
        join.send({"point": [0.5, 0.5]})
        assert "not granted" in join.wait_event("error")["message"]
        host.send({"grant": "annotate"})
        join.wait_event("annotate", state="granted")
        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0
    finally:
        join.kill()
        host.kill()


def test_a_host_without_display_refuses_marks_with_the_reason(server: str) -> None:
    host, join = pair(server, ["--yes"], [], host_env={"DISPLAY": ""})
    try:
        event = join.wait_event("annotate", state="unavailable")
        assert "need a display" in event["reason"]
        join.send({"point": [0.5, 0.5]})
        assert "not granted" in join.wait_event("error")["message"]
        join.send({"chat": "still here"})
        host.wait_event("chat", text="still here")  # the session goes on
        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0
    finally:
        join.kill()
        host.kill()
