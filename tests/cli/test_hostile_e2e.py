"""Hostile strangers, relays and peers against real host and join processes."""

import base64
import json

from websockets.sync.client import connect

from rassist.errors import AuthError, ConnectionLost
from tests.procs import Proc
from tests.relay import relay

OFF_CURVE = base64.b64encode(b"S" + (2).to_bytes(32, "little")).decode()
DEEP = '{"op":"ping","x":' + "[" * 5000 + "]" * 5000 + "}"
HOST, JOINER = 0, 1


def test_off_curve_spake2_from_a_stranger_burns_the_code_and_the_host_goes_on(server):
    host = Proc(["host", "--json", "--yes", "--server", server])
    code = host.wait_event("code")["code"]
    with connect(server) as stranger:
        stranger.send(json.dumps({"op": "claim", "nameplate": code.split("-")[0]}))
        assert json.loads(stranger.recv(5))["op"] == "claimed"
        stranger.send(json.dumps({"op": "send", "body": OFF_CURVE}))
        assert host.wait_event("error")["kind"] == "auth"
        fresh = host.wait_event("code")["code"]
    assert fresh != code and host.proc.poll() is None
    join = Proc(["join", fresh, "--json", "--server", server])
    join.wait_event("connected")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def _replace_host_pake(who: int, direction: str, frame: str) -> list[str]:
    msg = json.loads(frame)
    if (who, direction) == (JOINER, "down") and msg.get("op") == "message" and \
            len(base64.b64decode(msg["body"])) == 33:
        return [json.dumps({**msg, "body": OFF_CURVE})]
    return [frame]


def test_off_curve_spake2_from_a_relay_is_a_wrong_code_for_the_joiner(server):
    with relay(server, _replace_host_pake) as mitm:
        host = Proc(["host", "--json", "--yes", "--once", "--server", mitm.url])
        code = host.wait_event("code")["code"]
        join = Proc(["join", code, "--json", "--server", mitm.url])
        assert join.wait_exit() == AuthError.exit_code
        assert join.wait_event("error")["kind"] == "auth"
        # The joiner has no key to tell the host why it left: for the host it just left.
        assert host.wait_exit() in (AuthError.exit_code, ConnectionLost.exit_code)


def _deep_after_claim(who: int, direction: str, frame: str) -> list[str]:
    if (who, direction) == (JOINER, "down") and json.loads(frame).get("op") == "claimed":
        return [DEEP]
    return [frame]


def test_deeply_nested_frame_from_a_relay_is_a_lost_connection_not_a_crash(server):
    with relay(server, _deep_after_claim) as mitm:
        host = Proc(["host", "--json", "--yes", "--once", "--server", mitm.url])
        code = host.wait_event("code")["code"]
        join = Proc(["join", code, "--json", "--server", mitm.url])
        assert join.wait_exit() == ConnectionLost.exit_code
        error = join.wait_event("error")
        assert error["kind"] == "connection-lost" and "bad frame" in error["message"]
        assert "Traceback" not in "".join(join.stderr_lines)


def test_json_approval_must_name_the_pending_request_and_early_answers_are_never_kept(server):
    host = Proc(["host", "--json", "--server", server])
    code = host.wait_event("code")["code"]
    host.send({"approve": True})  # before anyone asked: refused, never kept for later
    host.send({"approve": True, "id": "00000000"})
    join = Proc(["join", code, "--json", "--control", "--server", server])
    request = host.wait_event("request")
    assert request["wants"] == ["view", "control"] and len(request["id"]) == 8
    # Refused at once (nothing was asking yet) or by the prompt (no matching id): never kept.
    early = [e["message"] for e in host.events if e["event"] == "error" and e.get("kind") == "command"]
    while len(early) < 2:
        early.append(host.wait_event("error", kind="command")["message"])
    assert all("pending" in message for message in early), early
    host.send({"approve": True})
    assert request["id"] in host.wait_event("error", kind="command")["message"]
    host.send({"approve": True, "id": "not-" + request["id"]})
    assert "names no pending request" in host.wait_event("error", kind="command")["message"]
    host.send({"approve": ["view"], "id": request["id"]})
    assert join.wait_event("connected")["granted"] == ["view"]
    host.send({"approve": True})  # no request pending any more: an error, the session goes on
    host.wait_event("error", kind="command")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def _bogus_turn(who: int, direction: str, frame: str) -> list[str]:
    if direction == "down" and json.loads(frame).get("op") == "turn":
        return [json.dumps({"op": "turn", "servers": [
            {"urls": ["nonsense:\x1b[2J", 5, "turn:relay.example:99999"], "username": {"a": 1}, "credential": None},
            "not an object"]})]
    return [frame]


def test_a_rendezvous_naming_malformed_turn_servers_cannot_crash_either_side(server):
    with relay(server, _bogus_turn) as mitm:
        host = Proc(["host", "--json", "--yes", "--once", "--server", mitm.url])
        code = host.wait_event("code")["code"]
        join = Proc(["join", code, "--json", "--server", mitm.url])
        join.wait_event("connected")
        join.send({"quit": True})
        assert join.wait_exit() == 0 and host.wait_exit() == 0


def _no_nameplate(who: int, direction: str, frame: str) -> list[str]:
    if direction == "down" and json.loads(frame).get("op") == "allocated":
        return [json.dumps({"op": "allocated", "nameplate": "1-\x1b[2J"})]
    return [frame]


def test_a_rendezvous_handing_out_a_bad_nameplate_is_a_lost_connection(server):
    with relay(server, _no_nameplate) as mitm:
        host = Proc(["host", "--json", "--yes", "--server", mitm.url])
        assert host.wait_exit() == ConnectionLost.exit_code
        assert "bad frame" in host.wait_event("error")["message"]


def test_a_peers_ticket_export_nested_deep_is_a_usage_error(tmp_path):
    deep = tmp_path / "peer.json"
    deep.write_text('{"record":' + "[" * 5000 + "]" * 5000 + "}")
    verify = Proc(["tickets", "verify", "abc", "--peer", str(deep), "--json"],
                  env={"RASSIST_DATA_DIR": str(tmp_path / "data")})
    assert verify.wait_exit() == 2
    assert verify.wait_event("error")["kind"] == "usage"
