"""send/receive straight over pinned TLS (no WebRTC), and the fall back to WebRTC when the
receiver cannot reach the sender over TCP."""

import subprocess
import sys

import pytest

from tests.procs import Proc, rendezvous_server
from tests.transfer.helpers import random_file, sha256_of


def named(events, name):
    return [e for e in events if e.get("event") == name]


def test_direct_transfer_needs_no_webrtc(server, tmp_path):
    digest = random_file(tmp_path / "a.bin", 2_000_000)
    # The receiver refuses to load aiortc: a direct transfer must not need it.
    guard = ("import sys; sys.modules['aiortc'] = None; sys.argv[0] = 'rassist'\n"
             "from rassist.cli.main import main; main()")
    sender = Proc(["send", str(tmp_path / "a.bin"), "--json", "--server", server])
    code = sender.wait_event("code")["code"]
    receiver = Proc([sys.executable, "-c", guard, "receive", code, "--json", "--yes",
                     "--server", server, "-o", str(tmp_path / "in")], raw=True)
    assert receiver.wait_exit(60) == 0, receiver.drain()[-3:]
    assert sender.wait_exit(30) == 0
    got = receiver.drain()
    assert named(got, "connected")[0]["route"]["direct"] is True
    assert named(got, "transfer-done")[0]["lane"] == "tcp"
    assert sha256_of(tmp_path / "in" / "a.bin") == digest
    assert named(sender.drain(), "connected")[0]["route"]["direct"] is True


def test_without_a_tcp_path_it_falls_back_to_webrtc(tmp_path):
    from tests.netns import lan, unavailable_reason

    if reason := unavailable_reason():
        pytest.skip(reason=reason)
    digest = random_file(tmp_path / "b.bin", 300_000)
    rassist = [sys.executable, "-m", "rassist"]
    with lan() as net:
        with rendezvous_server(host=net.a_addr, prefix=tuple(net.prefix(net.a))) as url:
            port = url.rsplit(":", 1)[1]
            # Only the rendezvous server takes TCP connections on the sender's side: UDP
            # (WebRTC) still works, the direct TLS connection cannot be made.
            for rule in (["-p", "tcp", "--dport", port, "-j", "ACCEPT"],
                         ["-p", "tcp", "--syn", "-j", "DROP"]):
                subprocess.run([*net.prefix(net.a), "iptables", "-A", "INPUT", *rule], check=True)
            sender = Proc([*net.prefix(net.a), *rassist, "send", str(tmp_path / "b.bin"),
                           "--json", "--server", url], raw=True)
            code = sender.wait_event("code")["code"]
            receiver = Proc([*net.prefix(net.b), *rassist, "receive", code, "--json", "--yes",
                             "--server", url, "-o", str(tmp_path / "in")], raw=True)
            assert receiver.wait_exit(90) == 0, receiver.drain()[-3:]
            assert sender.wait_exit(30) == 0
    got = receiver.drain()
    assert "direct" not in named(got, "connected")[0]["route"]
    assert named(got, "transfer-done")[0]["lane"] == "datachannel"
    assert len(named(got, "file-offer")) == 2  # once directly, once again over WebRTC
    assert sha256_of(tmp_path / "in" / "b.bin") == digest
