"""The --json command stream: blank lines, one command per line, commands before connecting."""

from __future__ import annotations

import time

from tests.cli.test_session_e2e import start_host, start_join


def test_two_command_keys_are_an_error_naming_both_and_nothing_is_done(server):
    host, code = start_host(server, "--yes")
    join = start_join(server, code)
    join.wait_event("connected")
    join.send({"chat": "x", "quit": True})
    error = join.wait_event("error", kind="command")
    assert error["kind"] == "command"
    assert "'chat' and 'quit'" in error["message"] and "nothing was done" in error["message"]
    join.send({"chat": "still here"})
    chats = [host.wait_event("chat")["text"]]
    assert chats == ["still here"]  # neither "x" was sent nor did the joiner quit
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_a_blank_line_is_ignored_not_reported(server):
    host, code = start_host(server, "--yes")
    join = start_join(server, code)
    join.wait_event("connected")
    join.send("")
    join.send("   ")
    join.send({"chat": "after blanks"})
    host.wait_event("chat", text="after blanks")
    join.send({"quit": True})
    assert join.wait_exit() == 0
    assert not [e for e in join.events if e["event"] == "error" and e["kind"] == "command"]


def test_commands_before_connecting_are_answered_at_once(server):
    host, code = start_host(server)  # asks before approving: the joiner waits
    started = time.monotonic()
    host.send({"chat": "too early"})
    error = host.wait_event("error", timeout=10, kind="command")
    assert "not connected yet" in error["message"] and "'chat'" in error["message"]
    join = start_join(server, code)
    request = host.wait_event("request")
    join.wait_event("waiting", **{"for": "approval"})
    join.send({"chat": "me too"})
    assert "not connected yet" in join.wait_event("error", timeout=10, kind="command")["message"]
    host.send({"approve": True, "id": request["id"]})  # the approval prompt still gets its answer
    join.wait_event("connected")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0
    assert time.monotonic() - started < 60



def test_an_approval_sent_before_the_request_is_refused_not_kept(server):
    """Consent answers only what was shown: an early approve is an error, and the request that
    comes later is still asked (issue 10's rule wins over answering early)."""
    host, code = start_host(server)
    host.send({"approve": True})  # a script that answers in advance
    join = start_join(server, code)
    request = host.wait_event("request")
    join.wait_event("waiting", **{"for": "approval"})
    # Refused either at once (nothing was asking yet) or by the prompt (no id): never kept.
    refusals = [e for e in host.events if e["event"] == "error" and e["kind"] == "command"]
    refusal = refusals[0] if refusals else host.wait_event("error", timeout=10, kind="command")
    assert "pending" in refusal["message"]
    assert not any(e["event"] == "connected" for e in join.events)
    host.send({"approve": True, "id": request["id"]})
    assert join.wait_event("connected")["granted"] == ["view"]
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0
