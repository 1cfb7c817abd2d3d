"""The plain-mode joiner (`rassist join --no-tui`) in a real terminal: every chat line and event
stays visible, the remote screen is drawn inline on request, Ctrl-C exits without waiting for a
key, and no typed character is lost to the terminal probe."""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.procs import Proc
from tests.tui.test_tmux import Tmux, wait_file

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
JOIN = [sys.executable, "-m", "rassist", "join"]


@pytest.fixture
def tmux(tmp_path, monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    term = Tmux(tmp_path / "tmux.sock", width=100, height=30)
    yield term
    term.kill()


def history(tmux: Tmux) -> str:
    """Everything the terminal shows, including what scrolled off the top."""
    return tmux.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "tui")


def start_joiner(tmux: Tmux, server: str, tmp_path: Path) -> tuple[Proc, Path]:
    host = Proc(["host", "--json", "--yes", "--name", "helpdesk", "--server", server])
    code = host.wait_event("code")["code"]
    rc_file = tmp_path / "rc"
    command = shlex.join([*JOIN, code, "--no-tui", "--server", server, "--name", "plain-joiner"])
    tmux.start(f"{command}; echo $? > {shlex.quote(str(rc_file))}; sleep 60")
    assert host.wait_event("connected")["peer"] == "plain-joiner"
    return host, rc_file


@pytest.mark.display
def test_plain_joiner_sees_every_chat_line_and_the_screen_on_request(server, tmux, tmp_path, display_env):
    host, rc_file = start_joiner(tmux, server, tmp_path)
    try:
        tmux.wait_for("type /screen to see it", timeout=30)
        for n in range(1, 4):
            host.send({"chat": f"host line {n}"})
        tmux.wait_for("helpdesk: host line 3")
        tmux.keys("hello from plain mode", "Enter")  # the very first keys typed: none may be lost
        assert host.wait_event("chat", **{"from": "plain-joiner"})["text"] == "hello from plain mode"
        tmux.keys("/screen", "Enter")
        tmux.wait_for("The host's screen, 1920x1080", timeout=30)
        host.send({"chat": "after the picture"})
        tmux.wait_for("helpdesk: after the picture")
        tmux.keys("/quit", "Enter")
        assert wait_file(rc_file) == "0"
        shown = history(tmux)
        for line in ("host line 1", "host line 2", "host line 3", "after the picture", "Session closed: you left."):
            assert line in shown, shown
        assert "{" not in shown  # sentences, not dicts
    finally:
        host.kill()


@pytest.mark.display
def test_ctrl_c_in_a_plain_joiner_exits_without_waiting_for_a_key(server, tmux, tmp_path, display_env):
    # Frames arriving is what used to start the terminal probe in a worker thread, racing the
    # stdin reader; the hang was a race, so try a few times.
    for attempt in range(3):
        host, rc_file = start_joiner(tmux, server, tmp_path)
        try:
            tmux.wait_for("type /screen to see it", timeout=30)
            tmux.keys("C-c")
            assert wait_file(rc_file, timeout=15) == "0", history(tmux)
            assert "Session closed: you left." in history(tmux)
        finally:
            host.kill()
            tmux.kill()
            rc_file.unlink(missing_ok=True)
            time.sleep(0.2)


def test_host_says_at_start_that_it_has_no_display(server, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    host = Proc(["host", "--json", "--server", server])
    try:
        event = host.wait_event("screen", timeout=10)  # before anyone joins
        host.wait_event("code")
        assert event["state"] == "unavailable" and "no display to capture" in event["message"]
    finally:
        host.kill()


def test_the_terminal_probe_does_not_leak_into_the_tmux_window_title(tmux, tmp_path):
    # textual-image's Kitty query is an APC sequence, which tmux takes for a pane title
    # (importing textual_image.renderable on its own leaves "Gi=...,a=q,..." there).
    done = tmp_path / "probed"
    script = ("from rassist.media.render import probe_terminal\nprobe_terminal()\n"
              f"open({str(done)!r}, 'w').write('yes')\nimport time\ntime.sleep(30)\n")
    tmux.start(shlex.join([sys.executable, "-c", script]))
    assert wait_file(done) == "yes"
    title = tmux.tmux("display-message", "-p", "-t", "tui", "#{pane_title}")
    assert "Gi=" not in title and "a=q" not in title, title
