"""`rassist host` on one rendezvous node and `rassist join` on another, sharing a redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.procs import Proc, rendezvous_server
from tests.redis_server import redis_server, unavailable_reason

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
    # The right words on the other node come too late: that nameplate is spent everywhere (a
    # joiner with a code waits for its host to arrive, and this one never will).
    late = Proc(["join", code, "--json", "--server", b, "--timeout", "3"])
    assert late.wait_exit() == 4
    assert not any(e["event"] == "connected" for e in late.drain() + host.events)
    host.kill()
