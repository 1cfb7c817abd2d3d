"""`rassist doctor` against a rendezvous server and coturn in namespaces, and on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack

import pytest

from tests.nat import coturn, coturn_available, internet
from tests.netns import unavailable_reason
from tests.procs import rendezvous_server


def doctor(prefix: list[str], url: str) -> tuple[int, list[dict]]:
    run = subprocess.run([*prefix, sys.executable, "-m", "rassist", "doctor", "--json", "--server", url],
                         capture_output=True, text=True, timeout=60)
    return run.returncode, [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def checks(events: list[dict], name: str) -> list[dict]:
    return [e for e in events if e["event"] == "check" and e["name"] == name]


@pytest.mark.netns
@pytest.mark.parametrize("udp,with_turn,verdict,code", [
    ("all", True, "direct", 0),
    ("none", True, "relay", 0),
    ("none", False, "blocked", 8),
])
def test_doctor_in_namespaces(tmp_path, udp, with_turn, verdict, code):
    if reason := unavailable_reason() or coturn_available():
        pytest.skip(reason=reason)
    with internet(udp=udp) as net, ExitStack() as stack:
        args = []
        if with_turn:
            stack.enter_context(coturn(net, "s", tmp_path))
            args = ["--turn", f"turn:{net.server_addr}:3478", "--turn",
                    f"turn:{net.server_addr}:3478?transport=tcp", "--turn-secret", "s"]
        url = stack.enter_context(rendezvous_server(*args, host=net.server_addr, prefix=tuple(net.prefix(net.pub))))
        rc, events = doctor(net.prefix(net.peers["a"]), url)
        assert rc == code, events
        assert events[-1]["event"] == "verdict" and events[-1]["verdict"] == verdict
        assert checks(events, "rendezvous")[0]["ok"] and checks(events, "rendezvous")[0]["rtt_ms"] >= 0
        stun = checks(events, "stun")[0]
        if udp == "all":
            assert stun["public_address"].startswith("198.19.0.11:")  # the router's WAN address
            assert checks(events, "mapping")[0]["mapping"] == "endpoint-independent"
            assert all(c["ok"] for c in checks(events, "turn"))
        else:
            assert not stun["ok"] and "UDP" in stun["message"]
            turn = {c.get("transport"): c["ok"] for c in checks(events, "turn")}
            assert turn == ({"udp": False, "tcp": True} if with_turn else {None: False})


def test_doctor_unreachable_server_exits_7():
    rc, events = doctor([], "ws://127.0.0.1:9")
    assert rc == 7 and events[-1] == {"event": "verdict", "verdict": "blocked", "ok": False,
                                      "message": "blocked: cannot reach the rendezvous server at ws://127.0.0.1:9"}


def test_doctor_on_loopback_without_turn(server):
    rc, events = doctor([], server)
    assert rc == 0, events
    assert checks(events, "stun")[0]["public_address"].startswith("127.0.0.1:")
    assert checks(events, "mapping")[0]["mapping"] == "none"  # no NAT on loopback
    assert checks(events, "turn")[0]["ok"] is False
