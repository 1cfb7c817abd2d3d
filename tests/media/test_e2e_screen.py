"""Screen sharing through the real commands: host under Xvfb, snapshot and recording joiners."""

import av
import numpy as np
import pytest
from PIL import Image

from tests.media.conftest import psnr, text_screen
from tests.procs import Proc

pytestmark = pytest.mark.display


@pytest.fixture
def shared(painter, server):
    """A host sharing a screen of small text; yields (code, the painted picture)."""
    picture = text_screen(seed=7)
    painter.put(picture)
    host = Proc(["host", "--json", "--yes", "--server", server])
    code = host.wait_event("code")["code"]
    yield host, code, picture
    host.kill()


def test_snapshot_writes_the_screen_as_png(shared, server, tmp_path):
    host, code, picture = shared
    out = tmp_path / "screen.png"
    snap = Proc(["snapshot", code, "-o", str(out), "--json", "--server", server])
    event = snap.wait_event("snapshot", timeout=40)
    assert snap.wait_exit() == 0
    assert (event["width"], event["height"]) == (1920, 1080)
    got = np.asarray(Image.open(out).convert("RGB"))
    assert got.shape == (1080, 1920, 3)
    assert psnr(got, picture) >= 30  # the cursor and codec are allowed a little noise
    assert host.wait_exit() == 0


def test_join_records_what_it_receives(shared, server, tmp_path):
    host, code, _ = shared
    video = tmp_path / "session.mkv"
    join = Proc(["join", code, "--json", "--record", str(video), "--server", server])
    join.wait_event("screen", timeout=30, state="receiving")
    import time

    time.sleep(1.5)
    join.send({"quit": True})
    assert join.wait_exit() == 0
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
    assert frames and (frames[0].width, frames[0].height) == (1920, 1080)
    assert host.wait_exit() == 0


def test_host_without_display_still_chats(server):
    host = Proc(["host", "--json", "--yes", "--server", server], env={"DISPLAY": ""})
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", server])
    error = host.wait_event("error")
    assert error["kind"] == "no-display" and "no display to capture" in error["message"]
    join.wait_event("connected")
    join.send({"chat": "no screen, but we can talk"})
    assert host.wait_event("chat")["text"] == "no screen, but we can talk"
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_snapshot_in_human_mode_prints_sentences(shared, server, tmp_path):
    host, code, _ = shared
    out = tmp_path / "screen.png"
    snap = Proc(["snapshot", code, "-o", str(out), "--server", server])
    assert snap.wait_exit(timeout=60) == 0
    said = " ".join("".join(snap.stderr_lines).split())  # rich wraps long lines
    assert f"Saved the host's screen (1920x1080) to {out}." in said
    assert "Type to chat" not in said and "{" not in said


def test_snapshot_is_the_screen_itself(shared, server, tmp_path):
    """The snapshot is a lossless still from the host, not a video frame still sharpening."""
    host, code, picture = shared
    out = tmp_path / "still.png"
    snap = Proc(["snapshot", code, "-o", str(out), "--json", "--server", server])
    snap.wait_event("snapshot", timeout=40)
    assert snap.wait_exit() == 0
    got = np.asarray(Image.open(out).convert("RGB"))
    assert psnr(got, picture) >= 60
    assert host.wait_exit() == 0
