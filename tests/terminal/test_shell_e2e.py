"""`rassist host --shell` and `rassist join --json` as real processes: output, input with and
without control, late joiners, resize, the recording, the shell ending."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.procs import Proc

BASH = ["bash", "--norc", "--noprofile", "-i"]


def start_host(server: str, tmp_path: Path, *extra: str, command: list[str] = BASH) -> tuple[Proc, str]:
    host = Proc(["host", "--shell", "--json", "--server", server, "--cast", str(tmp_path / "shell.cast"),
                 *extra, "--", *command], env={"PS1": "$ "})
    return host, host.wait_event("code")["code"]


def join(server: str, code: str, *extra: str) -> Proc:
    joiner = Proc(["join", code, "--json", "--server", server, *extra])
    joiner.wait_event("term")
    return joiner


def output_until(joiner: Proc, needle: str) -> str:
    """term-output text (repaints included) until `needle` shows up."""
    seen = ""
    while needle not in seen:
        seen += joiner.wait_event("term-output")["data"]
    return seen


def screen(joiner: Proc) -> list[str]:
    joiner.send({"term-screen": True})
    return joiner.wait_event("term-screen")["lines"]


def test_with_control_a_joiner_runs_a_command_and_reads_its_output(server, tmp_path):
    host, code = start_host(server, tmp_path, "--allow", "control")
    joiner = join(server, code, "--control")
    joiner.wait_event("control", state="granted")
    joiner.send({"term-input": "echo $((6*7))\n"})
    assert "42" in output_until(joiner, "42\r\n")
    lines = screen(joiner)
    assert "42" in lines and any("echo $((6*7))" in line for line in lines)
    joiner.send({"term-input": "exit 3\n"})
    assert joiner.wait_event("term-exit")["status"] == 3
    assert joiner.wait_event("closed")["reason"] == "shell-exited"
    assert host.wait_event("closed")["reason"] == "shell-exited"
    assert joiner.wait_exit() == 0 and host.wait_exit() == 0


def test_a_read_only_joiner_cannot_type(server, tmp_path):
    host, code = start_host(server, tmp_path, "--yes")
    joiner = join(server, code, "--control")  # asks for control, --yes grants view only
    joiner.send({"term-input": "touch should-not-exist\n"})
    error = joiner.wait_event("error", kind="command")
    assert "read-only" in error["message"]
    joiner.send({"request": "control"})
    assert host.wait_event("control-request")
    host.send({"grant": "control"})
    joiner.wait_event("control", state="granted")
    joiner.send({"term-input": "echo now-$((1+1))\n"})
    output_until(joiner, "now-2")
    host.send({"revoke": "control"})
    joiner.wait_event("control", state="revoked")
    joiner.send({"term-input": "echo again\n"})
    assert "read-only" in joiner.wait_event("error", kind="command")["message"]
    joiner.send({"quit": True})
    assert joiner.wait_exit() == 0
    host.wait_event("left")
    host.send({"quit": True})
    assert host.wait_exit() == 0


def test_a_late_joiner_sees_the_screen_and_a_returning_one_too(server, tmp_path):
    host, code = start_host(server, tmp_path, "--allow", "control",
                            command=["sh", "-c", "printf 'before anyone came\\n'; exec bash --norc -i"])
    host.wait_event("waiting")
    first = join(server, code, "--control")
    repaint = first.wait_event("term-output")
    assert repaint["screen"] is True and "before anyone came" in repaint["data"]
    first.wait_event("control", state="granted")
    first.send({"term-input": "echo first-$((40+2))\n"})
    output_until(first, "first-42")
    first.send({"quit": True})
    assert first.wait_exit() == 0
    assert host.wait_event("left")["reason"] == "peer-left"
    code = host.wait_event("code")["code"]  # a fresh code for the next helper; the shell lives on
    second = join(server, code)
    repaint = second.wait_event("term-output")
    assert repaint["screen"] is True and repaint["seq"] > 0
    lines = screen(second)
    assert "before anyone came" in lines and "first-42" in lines
    second.send({"quit": True})
    host.wait_event("left")
    host.send({"quit": True})
    assert host.wait_event("closed")["reason"] == "quit"


def test_resize_with_control_on_a_headless_host(server, tmp_path):
    host, code = start_host(server, tmp_path, "--allow", "control")
    joiner = join(server, code, "--control")
    joiner.wait_event("control", state="granted")
    joiner.send({"term-resize": [100, 30]})
    assert joiner.wait_event("term-size") == {"event": "term-size", "cols": 100, "rows": 30}
    host.wait_event("term-size", cols=100, rows=30)
    joiner.send({"term-input": "stty size\n"})
    output_until(joiner, "30 100")
    joiner.send({"term-resize": [1, 30]})
    assert "outside" in joiner.wait_event("error", kind="command")["message"]
    joiner.send({"term-input": "exit\n"})
    assert host.wait_exit() == 0
    cast = [json.loads(line) for line in (tmp_path / "shell.cast").read_text().splitlines()]
    assert [event for event in cast[1:] if event[1] == "r"][0][2] == "100x30"


def test_the_cast_file_is_asciicast_v2_and_replays(server, tmp_path):
    host, code = start_host(server, tmp_path, "--allow", "control")
    joiner = join(server, code, "--control")
    joiner.wait_event("control", state="granted")
    joiner.send({"term-input": "printf 'caf\\xc3\\xa9 %s\\n' $((6*7))\n"})
    output_until(joiner, "café 42")
    joiner.send({"term-input": "exit\n"})
    assert host.wait_exit() == 0
    path = Path(host.wait_event("cast")["path"]) if False else tmp_path / "shell.cast"
    assert any(e.get("event") == "cast" and e["path"] == str(path) for e in host.drain())
    assert path.stat().st_mode & 0o077 == 0  # a shell's recording is the owner's alone
    header, *events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert header["version"] == 2 and (header["width"], header["height"]) == (80, 24)
    times = [event[0] for event in events]
    assert times == sorted(times) and all(event[1] in ("o", "r") for event in events)
    assert "café 42" in "".join(event[2] for event in events if event[1] == "o")
    replay = subprocess.run([sys.executable, "-m", "asciinema", "cat", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    assert "café 42" in replay.stdout


def test_a_shell_that_ends_before_anyone_joins_ends_the_sharing(server, tmp_path):
    host = Proc(["host", "--shell", "--json", "--server", server, "--cast", str(tmp_path / "s.cast"),
                 "--", "sh", "-c", "echo bye; exit 7"])
    assert host.wait_event("shell-exit")["status"] == 7
    assert host.wait_event("closed")["reason"] == "shell-exited"
    assert host.wait_exit() == 0
    assert "bye" in (tmp_path / "s.cast").read_text()


def test_a_command_that_does_not_exist_is_a_usage_error(server, tmp_path):
    host = Proc(["host", "--shell", "--json", "--server", server, "--cast", str(tmp_path / "s.cast"),
                 "--", "no-such-command-here"])
    error = host.wait_event("error")
    assert error["kind"] == "usage" and "no-such-command-here" in error["message"]
    assert host.wait_exit() == 2
    assert not (tmp_path / "s.cast").exists()


def test_a_command_without_shell_is_refused(tmp_path):
    host = Proc(["host", "--json", "--", "ls"])
    assert host.wait_exit() == 2
    assert "only taken with --shell" in "".join(host.stderr_lines)
