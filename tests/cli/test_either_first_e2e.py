"""With a preset code either side may start first: the first waits up to --timeout (exit 4)."""

import time

from rassist.errors import AuthError, TimedOut
from tests.procs import Proc
from tests.transfer.cmd import rassist
from tests.transfer.helpers import random_file, sha256_of

CODE = "42-acme-adviser"


def test_join_before_host(server):
    join = Proc(["join", CODE, "--json", "--server", server, "--timeout", "30"])
    assert join.wait_event("waiting")["for"] == "host"
    time.sleep(0.5)  # the joiner really is first
    host = Proc(["host", "--json", "--yes", "--code", CODE, "--server", server])
    assert join.wait_event("connected")["peer"]
    host.wait_event("connected")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_receive_before_send(server, tmp_path):
    digest = random_file(tmp_path / "a.bin", 300_000)
    receiver = rassist(["receive", "--json", "--yes", "--server", server, "-o", str(tmp_path / "in"),
                        "--timeout", "30"], env={"RASSIST_CODE": CODE})
    assert receiver.wait_event("waiting")["for"] == "host"
    time.sleep(0.5)
    sender = rassist(["send", str(tmp_path / "a.bin"), "--json", "--code", CODE, "--server", server])
    assert receiver.wait_exit(60) == 0, receiver.drain()[-3:]
    assert sender.wait_exit(30) == 0
    assert sha256_of(tmp_path / "in" / "a.bin") == digest


def test_the_first_side_gives_up_after_its_timeout(server):
    join = Proc(["join", CODE, "--json", "--server", server, "--timeout", "1"])
    assert join.wait_exit() == TimedOut.exit_code
    assert "code number 42" in join.wait_event("error")["message"]
    host = Proc(["host", "--json", "--yes", "--code", CODE, "--server", server, "--timeout", "1"])
    assert host.wait_exit() == TimedOut.exit_code
    assert host.wait_event("error")["kind"] == "timeout"


def test_a_waiting_wrong_guess_burns_the_preset_code(server):
    guess = Proc(["join", "42-hesitate-shadow", "--json", "--server", server, "--timeout", "30"])
    guess.wait_event("waiting")
    host = Proc(["host", "--json", "--yes", "--once", "--code", CODE, "--server", server])
    assert guess.wait_exit() == AuthError.exit_code
    assert host.wait_exit() == AuthError.exit_code
    late = Proc(["join", CODE, "--json", "--server", server, "--timeout", "1"])
    assert late.wait_exit() in (AuthError.exit_code, TimedOut.exit_code)


def test_join_before_host_without_a_server(tmp_path):
    env = {"RASSIST_REGISTRY": str(tmp_path / "registry")}
    join = Proc(["join", CODE, "--json", "--timeout", "30"], env=env)
    assert join.wait_event("waiting")["for"] == "host"
    time.sleep(0.5)
    host = Proc(["host", "--json", "--yes", "--code", CODE], env=env)
    join.wait_event("connected")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0
