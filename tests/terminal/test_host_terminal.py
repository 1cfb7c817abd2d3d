"""`rassist host --shell` in a real terminal (tmux): the host types into its shell as usual,
Ctrl-C goes to the shell, its size is authoritative, Ctrl-] q leaves. And `join --no-tui` in a
real terminal draws the shared shell and types into it."""

from __future__ import annotations

import re
import shlex
import sys

from tests.procs import Proc
from tests.tui.test_tmux import ROOT, tmux, wait_file  # noqa: F401 - tmux is a fixture

RASSIST = [sys.executable, "-m", "rassist"]


def output_until(joiner: Proc, needle: str) -> str:
    seen = ""
    while needle not in seen:
        seen += joiner.wait_event("term-output")["data"]
    return seen


def test_the_host_keeps_typing_in_its_shell_and_ctrl_c_goes_to_the_shell(server, tmux, tmp_path):
    rc_file = tmp_path / "rc"
    command = shlex.join([*RASSIST, "host", "--shell", "--server", server, "--allow", "control",
                          "--cast", str(tmp_path / "s.cast"), "--", "bash", "--norc", "--noprofile", "-i"])
    tmux.start(f"env PS1='$ ' PYTHONPATH={shlex.quote(str(ROOT))} {command}; echo $? > {shlex.quote(str(rc_file))}; sleep 20")
    screen = tmux.wait_for("rassist join ")
    code = re.search(r"code (\d+-[a-z]+-[a-z]+)", screen).group(1)
    joiner = Proc(["join", code, "--json", "--server", server, "--control"])
    term = joiner.wait_event("term")
    assert term["cols"] == tmux.width  # the host's own terminal decides the size
    tmux.wait_for("MAY TYPE")
    tmux.keys("-l", "echo host-$((2+3))")
    tmux.keys("Enter")
    output_until(joiner, "host-5")
    tmux.keys("-l", "sleep 100")
    tmux.keys("Enter")
    output_until(joiner, "sleep 100")
    tmux.keys("C-c")  # to the shell: the sleep ends, rassist stays
    after = output_until(joiner, "^C")
    while "$ " not in after.split("^C", 1)[1]:  # typing before the new prompt could be flushed
        after += joiner.wait_event("term-output")["data"]
    tmux.keys("-l", "echo still-$((3*3))")
    tmux.keys("Enter")
    output_until(joiner, "still-9")
    joiner.send({"term-resize": [60, 20]})
    refused = joiner.wait_event("error", kind="input-refused")
    assert "authoritative" in refused["message"]
    tmux.tmux("resize-window", "-t", "tui", "-x", "90", "-y", "25")
    assert joiner.wait_event("term-size")["cols"] == 90
    tmux.keys("C-]", "q")
    assert joiner.wait_event("closed")["reason"] == "peer-left"
    assert wait_file(rc_file) == "0"
    tmux.wait_for("Session closed: you left")


def test_join_no_tui_draws_the_shared_shell_in_a_real_terminal(server, tmux, tmp_path):
    host = Proc(["host", "--shell", "--json", "--server", server, "--allow", "control",
                 "--cast", str(tmp_path / "s.cast"), "--", "bash", "--norc", "--noprofile", "-i"],
                env={"PS1": "$ "})
    code = host.wait_event("code")["code"]
    rc_file = tmp_path / "rc"
    command = shlex.join([*RASSIST, "join", code, "--no-tui", "--control", "--server", server])
    tmux.start(f"env PYTHONPATH={shlex.quote(str(ROOT))} {command}; echo $? > {shlex.quote(str(rc_file))}; sleep 20")
    tmux.wait_for("you may type")
    tmux.keys("-l", "echo seen-$((6*7))")
    tmux.keys("Enter")
    screen = tmux.wait_for("seen-42\n")
    assert "host 80x24" in screen
    tmux.keys("C-]", "q")
    assert wait_file(rc_file) == "0"
    tmux.wait_for("Session closed: you left")
    host.wait_event("left")
    host.send({"quit": True})
    assert host.wait_exit() == 0


def test_the_host_approves_with_the_rassist_key_and_a_view_only_helper_cannot_type(server, tmux, tmp_path):
    command = shlex.join([*RASSIST, "host", "--shell", "--server", server, "--cast", str(tmp_path / "s.cast"),
                          "--", "bash", "--norc", "--noprofile", "-i"])
    tmux.start(f"env PS1='$ ' PYTHONPATH={shlex.quote(str(ROOT))} {command}; sleep 20")
    code = re.search(r"code (\d+-[a-z]+-[a-z]+)", tmux.wait_for("rassist join ")).group(1)
    joiner = Proc(["join", code, "--json", "--control", "--server", server, "--name", "bob"])
    tmux.wait_for("bob wants to: watch the shell, type into the shell")
    tmux.keys("C-]", "v")  # view only
    assert joiner.wait_event("connected")["granted"] == ["view"]
    joiner.wait_event("term")
    joiner.send({"term-input": "echo sneaky\n"})
    assert "read-only" in joiner.wait_event("error", kind="command")["message"]
    joiner.send({"request": "control"})
    tmux.wait_for("bob asks to type into this shell")
    tmux.keys("C-]", "g")
    joiner.wait_event("control", state="granted")
    joiner.send({"term-input": "echo allowed-$((4*4))\n"})
    output_until(joiner, "allowed-16")
    tmux.wait_for("allowed-16")  # the host sees what the helper typed, in its own terminal
    joiner.send({"term-input": "exit\n"})
    assert joiner.wait_event("closed")["reason"] == "shell-exited"
    tmux.wait_for("Session closed: the shared shell ended")
