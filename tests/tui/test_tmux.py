"""The joiner's TUI in a real terminal: tmux runs it, capture-pane reads the screen, send-keys types.

The peer is a real `rassist host --json`. This is the one test that goes through a real pty,
terminal probing by textual-image, and the process's exit code."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.procs import Proc

ROOT = Path(__file__).resolve().parents[2]
# The TUI's own entry point; `rassist join` opens the same app on a terminal once the CLI is wired.
TUI_JOIN = [sys.executable, "-m", "rassist", "join"]

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")


class Tmux:
    """One private tmux server (its own socket) running one window."""

    def __init__(self, socket: Path, width: int = 100, height: int = 30) -> None:
        self.socket = str(socket)
        self.width, self.height = width, height

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=10,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-s", "tui", "-x", str(self.width), "-y", str(self.height),
                  "-c", str(ROOT), command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tui")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "tui", *keys)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            try:
                screen = self.screen()
            except RuntimeError:  # the window closed: the app has exited
                break
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared on the terminal; last screen:\n{screen}")

    def app_pid(self) -> int:
        """The TUI's process: the child of the shell tmux started in the window."""
        shell = int(self.tmux("list-panes", "-t", "tui", "-F", "#{pane_pid}").split()[0])
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        return int(children[0]) if children else shell

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=10, check=False)


@pytest.fixture
def tmux(tmp_path, monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)  # we may be running inside someone's tmux
    term = Tmux(tmp_path / "tmux.sock")
    yield term
    term.kill()


def wait_file(path: Path, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.1)
    raise AssertionError(f"{path.name} was never written")


def test_join_in_a_real_terminal(server, tmux, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # the host has no screen to share: the pane must say so
    host = Proc(["host", "--json", "--yes", "--name", "helpdesk", "--server", server])
    code = host.wait_event("code")["code"]
    rc_file = tmp_path / "rc"
    command = shlex.join([*TUI_JOIN, code, "--server", server, "--name", "tmux-joiner"])
    tmux.start(f"{command}; echo $? > {shlex.quote(str(rc_file))}")
    try:
        assert host.wait_event("connected")["peer"] == "tmux-joiner"
        screen = tmux.wait_for("LAN")  # the status bar: connected, directly
        assert "helpdesk" in screen and "Remote screen" in screen
        tmux.wait_for("The host shares no screen")
        tmux.keys("hello from a real terminal", "Enter")
        assert host.wait_event("chat")["text"] == "hello from a real terminal"
        host.send({"chat": "hi tmux"})
        tmux.wait_for("helpdesk: hi tmux")
        tmux.keys("C-q")
        assert host.wait_event("closed")["reason"] == "peer-left"
        assert wait_file(rc_file) == "0"
        assert host.wait_exit() == 0
    finally:
        host.kill()


@pytest.mark.display
def test_the_remote_screen_shows_in_a_real_terminal(server, tmux, tmp_path, display_env):
    host = Proc(["host", "--json", "--yes", "--name", "helpdesk", "--server", server])
    code = host.wait_event("code")["code"]
    command = shlex.join([*TUI_JOIN, code, "--server", server, "--name", "viewer"])
    tmux.start(f"RASSIST_TUI_GRAPHICS=halfcell {command}")  # tmux has no Kitty/Sixel graphics to offer
    try:
        host.wait_event("screen", state="sharing")  # (it comes just before "connected")
        screen = tmux.wait_for("▀" * 20)  # a row of the picture, drawn as half blocks
        assert "Remote screen 1920x1080" in screen
        tmux.keys("C-q")
        assert host.wait_event("closed")["reason"] == "peer-left"
    finally:
        host.kill()


def test_sigterm_closes_the_session_politely(server, tmux, tmp_path):
    host = Proc(["host", "--json", "--yes", "--name", "helpdesk", "--server", server])
    code = host.wait_event("code")["code"]
    rc_file = tmp_path / "rc"
    command = shlex.join([*TUI_JOIN, code, "--server", server, "--name", "leaver"])
    tmux.start(f"{command}; echo $? > {shlex.quote(str(rc_file))}")
    try:
        host.wait_event("connected")
        tmux.wait_for("LAN")
        os.kill(tmux.app_pid(), signal.SIGTERM)
        assert host.wait_event("closed")["reason"] == "peer-left"  # told, not timed out
        assert wait_file(rc_file) == "0"
    finally:
        host.kill()
