"""`rassist host` on one rendezvous node and `rassist join` on another, sharing a redis-server."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.procs import Proc, rendezvous_server
from tests.redis_server import cluster, redis_server, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


@pytest.fixture
def two_nodes(tmp_path, monkeypatch) -> Iterator[tuple[str, str]]:
    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path / "registry"))  # no chance meetings
    with redis_server() as redis, rendezvous_server("--redis", redis) as a, rendezvous_server("--redis", redis) as b:
        yield a, b


def test_host_and_joiner_on_different_nodes_chat(two_nodes: tuple[str, str]) -> None:
    a, b = two_nodes
    host = Proc(["host", "--json", "--yes", "--server", a, "--name", "desk"], env={"DISPLAY": ""})
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", b, "--name", "helper"])
    assert join.wait_event("connected")["peer"] == "desk"
    host.wait_event("connected")
    join.send({"chat": "via node b"})
    assert host.wait_event("chat", **{"from": "helper"})["text"] == "via node b"
    host.send({"chat": "via node a"})
    assert join.wait_event("chat", **{"from": "desk"})["text"] == "via node a"
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_a_wrong_guess_on_one_node_burns_the_code_on_the_other(two_nodes: tuple[str, str]) -> None:
    a, b = two_nodes
    host = Proc(["host", "--json", "--yes", "--server", a], env={"DISPLAY": ""})
    code = host.wait_event("code")["code"]
    nameplate, first, second = code.split("-")
    guess = Proc(["join", f"{nameplate}-{second}-{first}",
                  "--json", "--server", a])
    assert guess.wait_exit() == 3
    assert host.wait_event("error")["kind"] == "auth"
    fresh = host.wait_event("code")["code"]
    assert fresh.split("-")[0] != nameplate
    # The right words on the other node come too late: that nameplate is spent everywhere, and
    # the late joiner is told so at once.
    late = Proc(["join", code, "--json", "--server", b, "--timeout", "3"])
    error = late.wait_event("error")
    assert error["kind"] == "auth" and "used" in error["message"]
    assert late.wait_exit() == 3
    assert not any(e["event"] == "connected" for e in late.drain() + host.events)
    host.kill()


@pytest.fixture
def killable_nodes(tmp_path, monkeypatch) -> Iterator[list]:
    """Two nodes in their own processes, so that a test can SIGKILL one: [(proc, url), ...]."""
    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path / "registry"))
    with redis_server() as redis, cluster(redis) as nodes:
        yield nodes


def kill(proc) -> None:  # type: ignore[no-untyped-def]
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def chat_both_ways(host: Proc, join: Proc) -> None:
    join.send({"chat": "still here"})
    assert host.wait_event("chat", **{"from": "helper"})["text"] == "still here"
    host.send({"chat": "so am I"})
    assert join.wait_event("chat", **{"from": "desk"})["text"] == "so am I"
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_the_hosts_node_killed_after_the_code_is_out(killable_nodes) -> None:
    (node_a, a), (_, b) = killable_nodes
    host = Proc(["host", "--json", "--yes", "--server", f"{a},{b}", "--name", "desk"], env={"DISPLAY": ""})
    code = host.wait_event("code")["code"]
    kill(node_a)  # between allocate and claim: the host keeps its code on node b
    join = Proc(["join", code, "--json", "--server", b, "--name", "helper"])
    assert join.wait_event("connected")["peer"] == "desk"
    host.wait_event("connected")
    assert not [e for e in host.events if e["event"] == "error" and e["kind"] != "no-display"]
    chat_both_ways(host, join)


def test_the_hosts_node_killed_during_the_sealed_exchange(killable_nodes) -> None:
    (node_a, a), (_, b) = killable_nodes
    host = Proc(["host", "--json", "--server", f"{a},{b}", "--name", "desk"], env={"DISPLAY": ""})
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", f"{b},{a}", "--name", "helper"])
    request = host.wait_event("request")  # SPAKE2 done, the sealed hello in: the decision is next
    join.wait_event("waiting", **{"for": "approval"})
    kill(node_a)
    host.send({"approve": ["view"], "id": request["id"]})  # sealed, through node b now
    assert join.wait_event("connected")["peer"] == "desk"
    host.wait_event("connected")
    chat_both_ways(host, join)


def test_the_joiners_node_killed_while_it_waits_for_approval(killable_nodes) -> None:
    (node_a, a), (node_b, b) = killable_nodes
    host = Proc(["host", "--json", "--server", f"{a},{b}", "--name", "desk"], env={"DISPLAY": ""})
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", f"{b},{a}", "--name", "helper"])
    request = host.wait_event("request")
    join.wait_event("waiting", **{"for": "approval"})
    kill(node_b)
    host.send({"approve": ["view"], "id": request["id"]})  # waits in Redis until the joiner is back
    assert join.wait_event("connected")["peer"] == "desk"
    host.wait_event("connected")
    chat_both_ways(host, join)


def test_a_client_that_knows_only_the_dead_node_exits_6(killable_nodes) -> None:
    (node_a, a), (_, b) = killable_nodes
    host = Proc(["host", "--json", "--server", a, "--name", "desk"], env={"DISPLAY": ""})
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", b, "--name", "helper"])
    host.wait_event("request")
    kill(node_a)
    error = host.wait_event("error", timeout=30)
    assert error["kind"] == "connection-lost" and "no other node took the connection over" in error["message"]
    assert host.wait_exit() == 6
    # Its joiner hears the host left once the resume window (15 s) is over: exit 6 as well.
    assert join.wait_exit(timeout=40) == 6
