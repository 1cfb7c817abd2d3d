"""A session over a bad link between two network namespaces: delay and loss (tc netem, or
iptables random drops where the kernel has no netem), then a short total outage."""

import subprocess
import sys
import time
import warnings

import pytest

from tests.netns import Lan, lan, unavailable_reason
from tests.procs import Proc, rendezvous_server


def _run(ns: str, *args: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, *args], check=True, capture_output=True)


def impair(net: Lan) -> None:
    """40 ms of delay and 2% loss each way; only the loss where the kernel lacks sch_netem."""
    try:
        for ns, dev in ((net.a, net.a_dev), (net.b, net.b_dev)):
            _run(ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", "40ms", "10ms", "loss", "2%")
    except subprocess.CalledProcessError as exc:
        warnings.warn(f"tc netem refused ({exc.stderr.decode(errors='replace').strip()}): "
                      "loss by iptables only, no added delay")
        for ns in (net.a, net.b):
            _run(ns, "iptables", "-A", "INPUT", "-m", "statistic", "--mode", "random",
                 "--probability", "0.02", "-j", "DROP")


def outage(net: Lan, on: bool) -> None:
    for ns in (net.a, net.b):
        _run(ns, "iptables", "-I" if on else "-D", "INPUT", *(["1"] if on else []), "-j", "DROP")


@pytest.fixture
def bad_link():
    if reason := unavailable_reason():
        pytest.skip(reason=reason)
    with lan() as net:
        impair(net)
        yield net


def test_session_survives_loss_and_a_short_outage(bad_link):
    net = bad_link
    rassist = [sys.executable, "-m", "rassist"]
    with rendezvous_server(host=net.a_addr, prefix=tuple(net.prefix(net.a))) as url:
        host = Proc([*net.prefix(net.a), *rassist, "host", "--json", "--yes", "--server", url], raw=True)
        code = host.wait_event("code")["code"]
        join = Proc([*net.prefix(net.b), *rassist, "join", code, "--json", "--server", url], raw=True)
        join.wait_event("connected", timeout=30)
        host.wait_event("connected")
        join.send({"chat": "over a lossy link"})
        assert host.wait_event("chat")["text"] == "over a lossy link"

        # Three seconds of total loss both ways: shorter than the peer timeout, so nobody hangs up.
        outage(net, True)
        host.send({"chat": "sent during the outage"})
        time.sleep(3)
        outage(net, False)
        join.wait_event("chat", timeout=30, text="sent during the outage")  # SCTP retransmitted it

        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_a_long_outage_is_reported_as_connection_lost(bad_link):
    """Longer than the resume window (issue 18): both sides try, then give up with exit 6."""
    net = bad_link
    rassist = [sys.executable, "-m", "rassist"]
    with rendezvous_server(host=net.a_addr, prefix=tuple(net.prefix(net.a))) as url:
        host = Proc([*net.prefix(net.a), *rassist, "host", "--json", "--yes", "--server", url,
                     "--peer-timeout", "3", "--resume-window", "8"], raw=True)
        code = host.wait_event("code")["code"]
        join = Proc([*net.prefix(net.b), *rassist, "join", code, "--json", "--server", url,
                     "--peer-timeout", "3", "--resume-window", "8"], raw=True)
        join.wait_event("connected", timeout=30)
        outage(net, True)
        assert join.wait_event("reconnecting", timeout=30)["seconds_left"] == 8
        host.wait_event("reconnecting", timeout=30)
        assert join.wait_exit(timeout=60) == 6 and host.wait_exit(timeout=60) == 6
        for proc in (host, join):
            errors = [e for e in proc.drain() if e.get("event") == "error"]
            assert any("within 8 s" in e.get("message", "") for e in errors), errors
            assert not any(e.get("event") == "reconnected" for e in proc.events)
        assert join.seen_or_wait("closed")["reason"] == "connection-lost"
