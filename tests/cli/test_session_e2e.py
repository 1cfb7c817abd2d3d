"""host and join as real processes on loopback, driven through --json."""

import signal
import time

import pytest

from rassist.errors import (
    AuthError,
    ConnectionLost,
    DeclinedError,
    TimedOut,
    Unreachable,
    UsageError,
)
from tests.procs import Proc, rendezvous_server
from tests.relay import flip_sealed, relay, replay


def start_host(url: str | None, *extra: str) -> tuple[Proc, str]:
    args = ["host", "--json", *extra] + (["--server", url] if url else [])
    host = Proc(args)
    return host, host.wait_event("code")["code"]


def start_join(url: str | None, code: str, *extra: str, env=None) -> Proc:
    return Proc(["join", code, "--json", *extra] + (["--server", url] if url else []), env=env)


def test_chat_both_ways_and_clean_exit(server):
    host, code = start_host(server, "--yes", "--name", "helpdesk")
    join = start_join(server, code, "--name", "alice@box")
    joined = join.wait_event("connected")
    assert joined["peer"] == "helpdesk" and joined["granted"] == ["view"]
    assert joined["route"]["local"] in ("host", "srflx", "relay")
    assert host.wait_event("connected")["peer"] == "alice@box"
    join.send({"chat": "can you see my screen?"})
    assert host.wait_event("chat")["text"] == "can you see my screen?"
    host.send({"chat": "yes ✓"})
    got = join.wait_event("chat", **{"from": "helpdesk"})
    assert got["text"] == "yes ✓"
    join.send({"quit": True})
    assert join.wait_exit() == 0
    assert host.wait_exit() == 0
    assert host.wait_event("closed")["reason"] == "peer-left"


def test_bad_commands_are_errors_not_crashes(server):
    host, code = start_host(server, "--yes")
    join = start_join(server, code)
    join.wait_event("connected")
    for bad in ("not json", "[1,2]", '{"frobnicate": 1}', '{"chat": 5}', "{}"):
        join.send(bad)
        join.wait_event("error", kind="command")
    join.send({"chat": "still alive"})
    assert host.wait_event("chat")["text"] == "still alive"
    host.send({"quit": True})
    assert host.wait_exit() == 0 and join.wait_exit() == 0


def test_wrong_code_fails_both_sides_and_burns_the_nameplate(server):
    host, code = start_host(server, "--yes", "--once")
    nameplate, w1, w2 = code.split("-")
    wrong = f"{nameplate}-{w1}-{'adroitness' if w2 != 'adroitness' else 'adviser'}"
    join = start_join(server, wrong)
    assert join.wait_exit() == AuthError.exit_code
    assert "wrong code" in join.wait_event("error")["message"]
    assert host.wait_exit() == AuthError.exit_code
    # One guess per code: the right code no longer works either, and says so at once (exit 3,
    # as the README says), instead of waiting for a host that will not come.
    late = start_join(server, code, "--timeout", "1")
    assert late.wait_exit() == AuthError.exit_code
    assert "used a moment ago" in late.wait_event("error")["message"]


def test_host_offers_a_fresh_code_after_a_wrong_guess(server):
    host, code = start_host(server, "--yes")
    nameplate, w1, w2 = code.split("-")
    wrong = f"{nameplate}-{w1}-{'adroitness' if w2 != 'adroitness' else 'adviser'}"
    assert start_join(server, wrong).wait_exit() == AuthError.exit_code
    assert host.wait_event("error")["kind"] == "auth"
    fresh = host.wait_event("code")["code"]
    assert fresh != code
    join = start_join(server, fresh)
    join.wait_event("connected")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_decline_by_json_command(server):
    host, code = start_host(server, "--once")
    join = start_join(server, code, "--control")
    request = host.wait_event("request")
    assert request["wants"] == ["view", "control"]
    host.send({"approve": False, "id": request["id"]})
    assert join.wait_exit() == DeclinedError.exit_code
    assert join.wait_event("error")["kind"] == "declined"
    assert host.wait_exit() == DeclinedError.exit_code


def test_partial_approval_by_json_command(server):
    host, code = start_host(server)
    join = start_join(server, code, "--control", "--files")
    request = host.wait_event("request")
    host.send({"approve": ["view", "files"], "id": request["id"]})
    assert join.wait_event("connected")["granted"] == ["files", "view"]
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_plain_mode_prompt_approves_with_y(server):
    host = Proc(["host", "--server", server, "--name", "desk"])
    deadline = time.monotonic() + 20
    while "rassist join " not in "".join(host.stderr_lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    code = "".join(host.stderr_lines).split("rassist join ")[1].split()[0]
    join = start_join(server, code)
    while "wants to" not in "".join(host.stderr_lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    host.send("y")
    assert join.wait_event("connected")["peer"] == "desk"
    host.send("hello from a plain terminal")
    assert join.wait_event("chat")["text"] == "hello from a plain terminal"
    host.send("/quit")
    assert host.wait_exit() == 0 and join.wait_exit() == 0


def test_preset_code_from_the_environment(server):
    host = Proc(["host", "--json", "--yes", "--server", server], env={"RASSIST_CODE": "42-acme-adviser"})
    assert host.wait_event("code")["code"] == "42-acme-adviser"
    join = Proc(["join", "--json", "--server", server], env={"RASSIST_CODE": "42-acme-adviser"})
    join.wait_event("connected")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


HOST, JOINER = 0, 1  # the relay numbers clients in the order they connect


# The joiner gets: host SPAKE2, host hello, decision, offer; it sends: SPAKE2, hello, answer.
@pytest.mark.parametrize("tamper", [lambda: flip_sealed(4, "down", JOINER), lambda: flip_sealed(3, "up", JOINER),
                                    lambda: replay(3, "down", JOINER), lambda: flip_sealed(2, "up", JOINER)],
                         ids=["flipped-offer", "flipped-answer", "replayed-decision", "flipped-hello"])
def test_tampering_relay_aborts_both_sides(server, tamper):
    with relay(server, tamper()) as mitm:
        host, code = start_host(mitm.url, "--yes", "--once")
        join = start_join(mitm.url, code)
        assert join.wait_exit() == AuthError.exit_code
        assert host.wait_exit() == AuthError.exit_code
        for proc in (host, join):
            events = proc.drain()
            assert not any(e["event"] == "connected" for e in events)
            assert any(e["event"] == "error" and e["kind"] == "auth" for e in events)


def test_rendezvous_sees_only_ciphertext(server):
    with relay(server) as recorder:
        host, code = start_host(recorder.url, "--yes", "--name", "secret-host-name")
        join = start_join(recorder.url, code, "--name", "secret-joiner-name")
        join.wait_event("connected")
        join.send({"chat": "the password is hunter2"})
        host.wait_event("chat")
        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0
    seen = recorder.text().replace("stun:127.0.0.1:", "stun:SERVER:")  # the server's own address
    assert len(recorder.frames) >= 8
    for secret in ("v=0", "a=fingerprint", "candidate", "ice-ufrag", "192.0.2", "127.0.0.1",
                   "secret-host-name", "secret-joiner-name", "hunter2", code.split("-", 1)[1]):
        assert secret not in seen, secret


def test_embedded_default_without_server():
    host, code = start_host(None, "--yes")
    join = start_join(None, code)
    assert join.wait_event("connected")["route"]["local"] == "host"
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_unknown_nameplate_and_malformed_code_and_unreachable_server(server, tmp_path):
    # A nameplate nobody holds may belong to a host that has not started yet: wait, then exit 4.
    assert start_join(server, "999-acme-adviser", "--timeout", "1").wait_exit() == TimedOut.exit_code
    bad = start_join(server, "acme-adviser")
    assert bad.wait_exit() == UsageError.exit_code
    assert "malformed code" in bad.wait_event("error")["message"]
    t = time.monotonic()
    gone = Proc(["join", "1-acme-adviser", "--json", "--server", "ws://127.0.0.1:9", "--timeout", "2"])
    assert gone.wait_exit() == Unreachable.exit_code
    assert time.monotonic() - t < 10
    nobody = start_join(None, "77-acme-adviser", "--timeout", "1", env={"RASSIST_REGISTRY": str(tmp_path)})
    assert nobody.wait_exit() == TimedOut.exit_code
    assert "nobody with code 77-... appeared" in nobody.wait_event("error")["message"]  # not "no host": send too


def test_a_code_burned_by_a_wrong_guess_exits_3_without_a_server_too(tmp_path):
    private = {"RASSIST_REGISTRY": str(tmp_path)}  # only this test's host announces itself here
    host = Proc(["host", "--json", "--yes"], env=private)
    code = host.wait_event("code")["code"]
    nameplate, w1, w2 = code.split("-")
    wrong = f"{nameplate}-{w1}-{'adroitness' if w2 != 'adroitness' else 'adviser'}"
    assert start_join(None, wrong, env=private).wait_exit() == AuthError.exit_code
    host.wait_event("code")  # a fresh one
    late = start_join(None, code, "--timeout", "3", env=private)
    assert late.wait_exit() == AuthError.exit_code
    said = late.wait_event("error")["message"]  # the fresh code may reuse the number: then SPAKE2 says it
    assert "used a moment ago" in said or "wrong code" in said, said
    host.kill()


def test_peer_vanishing_is_reported(server):
    host, code = start_host(server, "--yes", "--peer-timeout", "2", "--resume-window", "3")
    join = start_join(server, code, "--peer-timeout", "2")
    join.wait_event("connected")
    host.wait_event("connected")
    join.proc.send_signal(signal.SIGKILL)
    assert host.wait_event("reconnecting")["seconds_left"] == 3  # it might only be a network drop
    assert host.wait_exit() == ConnectionLost.exit_code
    assert host.wait_event("closed")["reason"] == "connection-lost"


def test_server_restart_mid_pairing_is_a_clear_error():
    with rendezvous_server() as url:
        host, code = start_host(url, "--yes")
        host.wait_event("waiting")
    assert host.wait_exit() == ConnectionLost.exit_code
    assert "rendezvous server" in host.wait_event("error")["message"]


def test_ctrl_c_on_the_host_ends_the_session_for_both(server):
    host, code = start_host(server, "--yes")
    join = start_join(server, code)
    join.wait_event("connected")
    host.wait_event("connected")
    host.proc.send_signal(signal.SIGINT)
    assert host.wait_exit() == 0
    assert join.wait_exit() == 0
    assert join.wait_event("closed")["reason"] == "peer-left"


def test_embedded_default_across_a_lan(tmp_path):
    """Two machines on one link, no server: the joiner finds the host's embedded server by mDNS."""
    from tests.netns import lan, unavailable_reason

    if reason := unavailable_reason():
        pytest.skip(reason=reason)
    with lan() as net:
        # Separate registries: the same-machine shortcut must not be what makes this work.
        host = Proc([*net.prefix(net.a), *_rassist(), "host", "--json", "--yes"],
                    env={"RASSIST_REGISTRY": str(tmp_path / "a")}, raw=True)
        code = host.wait_event("code")["code"]
        join = Proc([*net.prefix(net.b), *_rassist(), "join", code, "--json"],
                    env={"RASSIST_REGISTRY": str(tmp_path / "b")}, raw=True)
        route = join.wait_event("connected", timeout=20)["route"]
        assert route["remote_address"].startswith(net.a_addr + ":")
        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0


def _rassist() -> list[str]:
    import sys

    return [sys.executable, "-m", "rassist"]
