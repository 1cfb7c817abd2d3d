"""Relaying through coturn with credentials from the rendezvous server (real turnserver)."""

import shutil
import subprocess
import sys
import time

import pytest

from tests.netns import lan, unavailable_reason
from tests.procs import Proc, rendezvous_server


@pytest.fixture
def net():
    if reason := unavailable_reason():
        pytest.skip(reason=reason)
    if shutil.which("turnserver") is None:
        pytest.skip(reason="coturn is not installed: .ci/run installs it with apt-get install coturn")
    with lan() as n:
        yield n


def coturn(prefix: list[str], address: str, secret: str, workdir) -> subprocess.Popen:
    """coturn in the REST-secret mode; its log goes to a file so a full pipe never stalls it."""
    log = workdir / "turn.log"
    proc = subprocess.Popen(
        [*prefix, "turnserver", "-n", f"--listening-ip={address}", f"--relay-ip={address}",
         "--listening-port=3478", "--use-auth-secret", f"--static-auth-secret={secret}",
         "--realm=rassist.test", "--no-tls", "--no-dtls", "--no-cli", f"--log-file={log}",
         "--simple-log", f"--userdb={workdir / 'turndb'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "SQLite DB connection" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.05)
    return proc


def test_relay_only_goes_through_coturn(net, tmp_path):
    prefix_a, prefix_b = net.prefix(net.a), net.prefix(net.b)
    turn = coturn(prefix_a, net.a_addr, "test-secret", tmp_path)
    try:
        with rendezvous_server("--turn", f"turn:{net.a_addr}:3478", "--turn-secret", "test-secret",
                               host=net.a_addr, prefix=tuple(prefix_a)) as url:
            rassist = [sys.executable, "-m", "rassist"]
            host = Proc([*prefix_a, *rassist, "host", "--json", "--yes", "--relay-only", "--server", url], raw=True)
            code = host.wait_event("code")["code"]
            join = Proc([*prefix_b, *rassist, "join", code, "--json", "--relay-only", "--server", url], raw=True)
            route = join.wait_event("connected", timeout=20)["route"]
            assert (route["local"], route["remote"]) == ("relay", "relay")
            assert route["remote_address"].startswith(net.a_addr + ":")  # coturn's relayed address
            join.send({"chat": "through the relay"})
            assert host.wait_event("chat")["text"] == "through the relay"
            join.send({"quit": True})
            assert join.wait_exit() == 0 and host.wait_exit() == 0
    finally:
        turn.terminate()
        turn.wait(5)


def test_relay_only_without_turn_is_a_usage_error():
    with rendezvous_server() as url:
        host = Proc(["host", "--json", "--yes", "--relay-only", "--server", url])
        assert host.wait_exit() == 2
        assert "TURN" in host.wait_event("error")["message"]
