"""What a hostile peer's text does to a real terminal (a pty): nothing. Its escapes arrive as
visible text (^[), never as bytes the terminal would obey; the consent prompt takes no answer
typed before it appeared."""

import time

import pytest

from rassist.errors import DeclinedError
from tests.procs import Proc
from tests.ptyproc import PtyProc

# What a joiner could try: hide the rest of a line (SGR 8), set the window title (OSC 0), write the
# clipboard (OSC 52), clear the screen with an 8-bit CSI, and reverse the text after it (RLO).
NAME = "mallory\x1b[8m\x1b]0;PWNED\x07"
CHAT = "hi\x1b]52;c;cHduZWQ=\x07 \x9b2J \u202eexe.txt"
FORBIDDEN = [b"\x1b[8m", b"\x1b]0;PWNED", b"\x1b]52;", "\x9b".encode(), "\u202e".encode()]


def assert_no_peer_escapes(term: PtyProc) -> None:
    for sequence in FORBIDDEN:
        assert sequence not in term.output, (sequence, term.text()[-2000:])


def code_from(term: PtyProc, command: str) -> str:
    """The code in "rassist join CODE" as printed (with the terminal's styling around it)."""
    term.wait_for(f"rassist {command} ")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tail = term.text().split(f"rassist {command} ", 1)[1]
        if "\n" in tail:
            return tail.split("\x1b")[0].split()[0]
        time.sleep(0.05)
    raise AssertionError(term.text())


def test_plain_host_shows_a_hostile_joiner_visibly_and_ignores_typed_ahead_answers(server):
    host = PtyProc(["host", "--no-tui", "--once", "--server", server, "--name", "desk"])
    code = code_from(host, "join")
    host.wait_for("Waiting for someone to join")
    host.write("y\n")  # typed ahead, with Enter ...
    host.write("y")    # ... and without: neither may answer the question that comes later
    time.sleep(0.5)
    join = Proc(["join", code, "--json", "--control", "--server", server, "--name", NAME])
    screen = host.wait_for("Allow?")
    assert "^[[8m" in screen and "^[]0;PWNED^G" in screen
    assert "control your mouse and keyboard" in screen.split("Allow?")[-2]
    join.wait_event("waiting")
    with pytest.raises(AssertionError, match="no 'connected' event"):
        join.wait_event("connected", timeout=1.5)  # the typed-ahead answers were dropped
    host.write("\n")  # an empty answer is no
    assert join.wait_exit() == DeclinedError.exit_code
    assert host.wait_exit() == DeclinedError.exit_code
    assert_no_peer_escapes(host)


def test_plain_host_shows_hostile_chat_and_text_offers_visibly(server):
    host = PtyProc(["host", "--no-tui", "--allow", "files", "--server", server])
    code = code_from(host, "join")
    join = Proc(["join", code, "--json", "--files", "--server", server, "--name", NAME])
    join.wait_event("connected")
    host.wait_for("Type to chat")
    join.send({"chat": CHAT})
    join.send({"send-text": "line one\x1b]0;PWNED\x07\nline two"})
    host.wait_for("/decline")
    host.write("/accept\n")
    screen = host.wait_for("line two")
    assert "^[]52;c;cHduZWQ=^G" in screen and "<U+009B>2J" in screen and "<U+202E>exe.txt" in screen
    host.write("/quit\n")
    assert host.wait_exit() == 0 and join.wait_exit() == 0
    assert_no_peer_escapes(host)


def test_receive_shows_a_hostile_sender_visibly(server, tmp_path):
    sender = Proc(["send", "--json", "--server", server, "--name", NAME, "--text",
                   "payload\x1b]52;c;cHduZWQ=\x07"])
    code = sender.wait_event("code")["code"]
    receiver = PtyProc(["receive", code, "--server", server, "-o", str(tmp_path)])
    screen = receiver.wait_for("Accept?")
    assert "mallory^[[8m^[]0;PWNED^G" in screen
    receiver.write("y\n")
    assert receiver.wait_exit() == 0 and sender.wait_exit() == 0
    assert "payload^[]52;c;cHduZWQ=^G" in receiver.text()
    assert_no_peer_escapes(receiver)
