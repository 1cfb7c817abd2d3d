"""Real host/join and send/receive processes on loopback leave records on both sides."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.procs import Proc


def tickets(data: Path, *args: str, check: bool = True) -> tuple[int, list[dict[str, Any]]]:
    """`rassist tickets ARGS --json` against the store in `data`: (exit code, events)."""
    done = subprocess.run([sys.executable, "-m", "rassist", "tickets", *args, "--json"], capture_output=True,
                          text=True, timeout=60, env={**_env(), "RASSIST_DATA_DIR": str(data)})
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if check:
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.returncode, events


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def one_record(data: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    _, listed = tickets(data, "list")
    assert len(listed) == 1, listed
    _, shown = tickets(data, "show", listed[0]["id"])
    return shown[0], [e for e in shown[1:] if e["event"] == "entry"]


def test_host_and_join_both_keep_chat_grants_files_and_notes(server, tmp_path):
    host_dir, join_dir = tmp_path / "host-data", tmp_path / "join-data"
    payload = tmp_path / "vpn-config-dump.txt"
    payload.write_text("route table\n" * 100)
    host = Proc(["host", "--json", "--yes", "--allow", "files", "--name", "helpdesk", "--server", server,
                 "--title", "VPN drops", "--tag", "vpn", "--tag", "acme,urgent",
                 "--download-dir", str(tmp_path / "in")], env={"RASSIST_DATA_DIR": str(host_dir)})
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--files", "--name", "alice@box", "--server", server],
                env={"RASSIST_DATA_DIR": str(join_dir)})
    assert host.wait_event("record")["id"] and join.wait_event("record")["id"]
    join.wait_event("connected")
    host.wait_event("connected")
    join.send({"chat": "the tunnel says ECONNRESET every hour"})
    host.wait_event("chat")
    host.send({"note": "asked for the client log"})
    host.wait_event("note")
    join.send({"send": str(payload)})
    offer = host.wait_event("file-offer")
    host.send({"accept": offer["id"]})
    host.wait_event("file-done")
    join.wait_event("transfer-done")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0

    info, entries = one_record(host_dir)
    assert info["title"] == "VPN drops" and info["tags"] == ["acme", "urgent", "vpn"]
    assert info["peer"] == "alice@box" and info["outcome"] == "peer-left" and info["verify"]["ok"]
    kinds = [e["kind"] for e in entries]
    assert kinds[0] == "start" and kinds[-1] == "ended"
    connected = next(e for e in entries if e["kind"] == "connected")
    assert sorted(connected["data"]["granted"]) == ["files", "view"]
    chat = [e["data"] for e in entries if e["kind"] == "chat"]
    assert chat == [{"from": "alice@box", "text": "the tunnel says ECONNRESET every hour", "mine": False}]
    assert any(e["kind"] == "note" and e["data"]["text"] == "asked for the client log" for e in entries)
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    done = [e["data"] for e in entries if e["kind"] == "file-done"]
    assert done and done[0]["sha256"] == digest and done[0]["path"] == payload.name
    # The joiner's final head reached the host (and the other way round).
    assert any(e["kind"] == "peer-head" and e["data"]["final"] for e in entries)

    jinfo, jentries = one_record(join_dir)
    assert jinfo["peer"] == "helpdesk" and jinfo["outcome"] == "quit" and jinfo["session"] == info["session"]
    assert [e["data"]["text"] for e in jentries if e["kind"] == "chat"] == ["the tunnel says ECONNRESET every hour"]
    assert any(e["kind"] == "file-done" and e["data"]["sha256"] == digest for e in jentries)
    assert any(e["kind"] == "peer-head" and e["data"]["record"] == info["id"] for e in jentries)

    _, hits = tickets(host_dir, "search", "ECONNRESET")
    assert hits[0]["count"] == 1 and hits[1]["record"] == info["id"] and "«ECONNRESET»" in hits[1]["snippet"]
    _, hits = tickets(join_dir, "search", "vpn-config-dump.txt")
    assert hits[0]["count"] >= 1 and all(h["record"] == jinfo["id"] for h in hits[1:])
