"""Sessions that survive a dropped path (issue 18), with real `rassist` processes in two
network namespaces: the rendezvous server runs beside the joiner, the host is across a veth.
A 45 s outage (every packet on the link dropped) and a change of the host's address: both
sides say `reconnecting`, then `reconnected`, and chat goes on both ways with nothing lost or
twice. (The window expiring: tests/cli/test_netem_e2e.py, exit 6 on both sides.)"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from tests.netns import Lan, lan, unavailable_reason
from tests.procs import Proc, rendezvous_server

RASSIST = [sys.executable, "-m", "rassist"]


def _ip(ns: str, *args: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, *args], check=True, capture_output=True)


def cut(net: Lan, on: bool) -> None:
    """Every packet across the veth dropped, both ways, on both ends (loopback untouched)."""
    flag = "-I" if on else "-D"
    for ns, dev in ((net.a, net.a_dev), (net.b, net.b_dev)):
        _ip(ns, "iptables", flag, "INPUT", "-i", dev, "-j", "DROP")
        _ip(ns, "iptables", flag, "OUTPUT", "-o", dev, "-j", "DROP")


def outage(net: Lan, host: Proc, join: Proc, seconds: float, during: Callable[[], None] = lambda: None) -> None:
    """The link cut for `seconds` (`during` runs right after the cut): both sides say
    reconnecting, then reconnected."""
    cut(net, True)
    during()
    join.wait_event("reconnecting", timeout=30)
    host.wait_event("reconnecting", timeout=30)
    time.sleep(seconds)
    cut(net, False)
    join.wait_event("reconnected", timeout=90)
    host.wait_event("reconnected", timeout=90)


@pytest.fixture
def net() -> Iterator[Lan]:
    if reason := unavailable_reason():
        pytest.skip(reason=reason)
    with lan() as made:
        yield made


def session(net: Lan, url: str, *extra: str) -> tuple[Proc, Proc]:
    host = Proc([*net.prefix(net.a), *RASSIST, "host", "--json", "--yes", "--server", url,
                 "--peer-timeout", "3", *extra], raw=True)
    code = host.wait_event("code", timeout=60)["code"]
    join = Proc([*net.prefix(net.b), *RASSIST, "join", code, "--json", "--server", url,
                 "--peer-timeout", "3", *extra], raw=True)
    join.wait_event("connected", timeout=60)
    host.wait_event("connected", timeout=60)
    join.send({"chat": "before"})
    host.wait_event("chat", text="before")
    return host, join


def chats(proc: Proc) -> list[str]:
    return [e["text"] for e in proc.drain() if e.get("event") == "chat" and e.get("from") != "me"]


def finish(host: Proc, join: Proc) -> None:
    join.send({"chat": "after, from the joiner"})
    host.wait_event("chat", timeout=30, text="after, from the joiner")
    host.send({"chat": "after, from the host"})
    join.wait_event("chat", timeout=30, text="after, from the host")
    join.send({"quit": True})
    assert join.wait_exit(30) == 0 and host.wait_exit(30) == 0
    host_heard, join_heard = chats(host), chats(join)
    assert len(host_heard) == len(set(host_heard)), host_heard  # nothing twice
    assert len(join_heard) == len(set(join_heard)), join_heard


def test_a_45_second_outage_is_survived(net: Lan) -> None:
    with rendezvous_server(host=net.b_addr, prefix=tuple(net.prefix(net.b))) as url:
        host, join = session(net, url)
        cut(net, True)
        host.send({"chat": "said during the outage, by the host"})
        join.send({"chat": "said during the outage, by the joiner"})
        left = host.wait_event("reconnecting", timeout=30)
        assert left["participant"] == "p1" and 0 < left["seconds_left"] <= 120
        join.wait_event("reconnecting", timeout=30)
        time.sleep(45)
        cut(net, False)
        join.wait_event("reconnected", timeout=90)
        host.wait_event("reconnected", timeout=90, participant="p1")
        join.seen_or_wait("chat", timeout=30, text="said during the outage, by the host")
        host.seen_or_wait("chat", timeout=30, text="said during the outage, by the joiner")
        assert [e["event"] for e in join.events].count("connected") == 1  # no new pairing
        finish(host, join)


def test_the_hosts_address_changes(net: Lan) -> None:
    with rendezvous_server(host=net.b_addr, prefix=tuple(net.prefix(net.b))) as url:
        host, join = session(net, url)
        moved = net.a_addr.rsplit(".", 1)[0] + ".3"
        _ip(net.a, "ip", "addr", "del", f"{net.a_addr}/24", "dev", net.a_dev)
        _ip(net.a, "ip", "addr", "add", f"{moved}/24", "dev", net.a_dev)
        host.send({"chat": "from my new address"})
        join.wait_event("reconnected", timeout=120)
        host.wait_event("reconnected", timeout=120, participant="p1")
        join.seen_or_wait("chat", timeout=30, text="from my new address")
        finish(host, join)


def test_a_64_mb_transfer_cut_in_the_middle_completes(net: Lan, tmp_path) -> None:
    import hashlib
    import os

    data = os.urandom(64 << 20)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    inbox = tmp_path / "in"
    inbox.mkdir()
    for ns, dev in ((net.a, net.a_dev), (net.b, net.b_dev)):  # about 20 s for the whole file
        _ip(ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", "25mbit", "burst", "64kb",
            "latency", "100ms")
    with rendezvous_server(host=net.b_addr, prefix=tuple(net.prefix(net.b))) as url:
        host, join = session(net, url, "--download-dir", str(inbox))
        host.send({"send": str(source)})
        offer = join.wait_event("file-offer", timeout=60)
        join.send({"accept": offer["id"]})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            progress = join.wait_event("file-progress", timeout=60, direction="receive")
            if progress.get("bytes", 0) >= 16 << 20:
                break
        cut(net, True)
        join.wait_event("reconnecting", timeout=30)
        time.sleep(8)
        cut(net, False)
        join.wait_event("reconnected", timeout=90)
        done = join.wait_event("file-done", timeout=180, direction="receive")
        assert done["resumed_from"] >= 16 << 20 and done["sha256"] == hashlib.sha256(data).hexdigest()
        assert hashlib.sha256((inbox / "big.bin").read_bytes()).hexdigest() == done["sha256"]
        join.send({"quit": True})
        assert join.wait_exit(30) == 0 and host.wait_exit(30) == 0


def test_with_the_embedded_server_an_outage_is_survived(net: Lan) -> None:
    """No --server: the host keeps its embedded server for the session and the joiner finds it
    again under the resume's LAN name (mDNS across the veth) or where it paired."""
    host = Proc([*net.prefix(net.a), *RASSIST, "host", "--json", "--yes", "--peer-timeout", "3"], raw=True)
    code = host.wait_event("code", timeout=60)["code"]
    join = Proc([*net.prefix(net.b), *RASSIST, "join", code, "--json", "--peer-timeout", "3"], raw=True)
    join.wait_event("connected", timeout=60)
    host.wait_event("connected", timeout=60)
    outage(net, host, join, 10, during=lambda: host.send({"chat": "said during the outage, by the host"}))
    join.seen_or_wait("chat", timeout=30, text="said during the outage, by the host")
    finish(host, join)


def screen_with(join: Proc, line: str, timeout: float = 30) -> list[str]:
    """The joiner's terminal screen once `line` is a whole row of it."""
    deadline = time.monotonic() + timeout
    while True:
        join.send({"term-screen": True})
        lines = join.wait_event("term-screen", timeout=timeout)["lines"]
        if any(row.strip() == line for row in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.3)


def test_a_shared_shell_survives_an_outage_and_shows_what_was_missed(net: Lan, tmp_path) -> None:
    """`host --shell`: the same helper comes back with control (no new code, no approval) and
    sees what the shell printed while the link was down."""
    with rendezvous_server(host=net.b_addr, prefix=tuple(net.prefix(net.b))) as url:
        host = Proc([*net.prefix(net.a), *RASSIST, "host", "--shell", "--json", "--yes", "--allow", "control",
                     "--server", url, "--peer-timeout", "3", "--resume-window", "60",
                     "--cast", str(tmp_path / "s.cast"), "--", "bash", "--norc", "--noprofile", "-i"],
                    raw=True, env={"PS1": "$ "})
        code = host.wait_event("code", timeout=60)["code"]
        join = Proc([*net.prefix(net.b), *RASSIST, "join", code, "--json", "--control", "--server", url,
                     "--peer-timeout", "3"], raw=True)
        join.wait_event("term", timeout=60)
        join.seen_or_wait("control", timeout=30, state="granted")
        join.send({"term-input": "echo before-the-cut\n"})
        assert any(r.strip() == "before-the-cut" for r in screen_with(join, "before-the-cut"))
        join.send({"term-input": "(sleep 2; echo during-the-cut) &\n"})  # printed while the link is down
        time.sleep(0.5)
        outage(net, host, join, 6)
        join.send({"term-input": "echo after-the-cut\n"})
        lines = screen_with(join, "after-the-cut")
        assert any(r.strip() == "after-the-cut" for r in lines), lines
        assert any(r.strip() == "before-the-cut" for r in lines), lines
        assert any("during-the-cut" in r and "echo" not in r for r in lines), lines  # after a prompt
        assert [e["event"] for e in host.events].count("code") == 1  # no new code: the same helper
        join.send({"quit": True})
        assert join.wait_exit(30) == 0
        host.send({"quit": True})
        assert host.wait_exit(30) == 0
