"""Real host/join and send/receive processes on loopback leave records on both sides."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rassist.records.screentext import SAMPLE
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
    assert host.seen_or_wait("record")["id"] and join.seen_or_wait("record")["id"]
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
    assert chat == [{"from": "alice@box", "text": "the tunnel says ECONNRESET every hour", "participant": "p1",
                     "mine": False}]
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


def test_send_and_receive_keep_file_hashes_and_a_shared_store_cross_checks(server, tmp_path):
    """A team's store: both sides write to the same database, so verify checks each record
    against the heads the other side confirmed; then tamper, export, note and prune."""
    data = tmp_path / "team"
    report = tmp_path / "crash-report-7781.log"
    report.write_bytes(b"segfault at 0x0\n" * 5000)
    env = {"RASSIST_DATA_DIR": str(data)}
    sender = Proc(["send", "--json", "--server", server, "--title", "crash dump", "--tag", "crash", str(report)],
                  env=env)
    code = sender.wait_event("code")["code"]
    receiver = Proc(["receive", code, "--json", "--yes", "--server", server, "-o", str(tmp_path / "in")], env=env)
    assert receiver.wait_exit(60) == 0 and sender.wait_exit(30) == 0
    digest = hashlib.sha256(report.read_bytes()).hexdigest()

    _, listed = tickets(data, "list")
    assert sorted(t["command"] for t in listed) == ["receive", "send"]
    assert listed[0]["session"] == listed[1]["session"] != ""
    for t in listed:
        _, shown = tickets(data, "show", t["id"])
        files = [e["data"] for e in shown if e.get("kind") == "file-done"]
        assert files and files[0]["sha256"] == digest, shown
        assert shown[0]["verify"]["ok"] and shown[0]["verify"]["confirmed"], shown[0]
    _, found = tickets(data, "search", "crash-report-7781.log")
    assert {h["record"] for h in found[1:]} == {t["id"] for t in listed}
    assert [t["id"] for t in tickets(data, "list", "--tag", "crash")[1]] == [
        t["id"] for t in listed if t["command"] == "send"]

    send_id = next(t["id"] for t in listed if t["command"] == "send")
    _, noted = tickets(data, "note", send_id[:6], "customer", "confirmed", "the", "fix")
    assert noted == [{"event": "noted", "record": send_id, "seq": noted[0]["seq"]}]
    _, found = tickets(data, "search", "customer confirmed")
    assert found[1]["record"] == send_id and found[1]["kind"] == "note"

    # Export: Markdown and a self-contained HTML page.
    _, done = tickets(data, "export", send_id, "--format", "md", "-o", str(tmp_path / "t.md"))
    assert done[0]["ok"] is True
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").enable("table").render((tmp_path / "t.md").read_text())
    assert "<h1>crash dump</h1>" in rendered and digest in rendered and "<table>" in rendered
    tickets(data, "export", send_id, "--format", "html", "-o", str(tmp_path / "t.html"))
    assert_valid_html((tmp_path / "t.html").read_text())
    tickets(data, "export", send_id, "--format", "json", "-o", str(tmp_path / "t.json"))
    assert json.loads((tmp_path / "t.json").read_text())["record"]["id"] == send_id

    # Tamper with the sender's record: verify names the entry and exits 3.
    import sqlite3

    db = sqlite3.connect(data / "tickets.db")
    db.execute("UPDATE entries SET data = replace(data, ?, ?) WHERE record = ? AND kind = 'file-done'",
               (digest, "0" * 64, send_id))
    db.commit()
    db.close()
    rc, verdicts = tickets(data, "verify", check=False)
    assert rc == 3
    bad = [v for v in verdicts if not v["ok"]]
    assert [v["record"] for v in bad] == [send_id] and "changed" in bad[0]["problem"]
    assert isinstance(bad[0]["first_bad"], int)
    _, pruned = tickets(data, "prune", "--older-than", "1s")
    assert pruned[0]["count"] == 2
    _, listed = tickets(data, "list")
    assert listed == []


def test_no_record_keeps_nothing_and_bad_arguments_are_usage_errors(server, tmp_path):
    data = tmp_path / "data"
    env = {"RASSIST_DATA_DIR": str(data)}
    sender = Proc(["send", "--json", "--server", server, "--no-record", "--text", "hello"], env=env)
    code = sender.wait_event("code")["code"]
    receiver = Proc(["receive", code, "--json", "--yes", "--no-record", "--server", server], env=env)
    assert receiver.wait_exit(60) == 0 and sender.wait_exit(30) == 0
    assert not any(e["event"] == "record" for e in sender.drain() + receiver.drain())
    assert tickets(data, "list")[1] == []
    assert tickets(data, "show", "zz", check=False)[0] == 2
    assert tickets(data, "prune", "--older-than", "soon", check=False)[0] == 2
    assert tickets(data, "export", "abc", "--format", "pdf", "-o", str(tmp_path / "x"), check=False)[0] == 2


def assert_valid_html(text: str) -> None:
    """Every element that must close does, in order (a strict check with the stdlib parser)."""
    from html.parser import HTMLParser

    void = {"meta", "img", "br", "hr", "link", "input"}
    stack: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag not in void:
                stack.append(tag)

        def handle_endtag(self, tag):
            assert stack and stack[-1] == tag, (tag, stack)
            stack.pop()

    assert text.startswith("<!DOCTYPE html>")
    Checker().feed(text)
    assert stack == []


def rewrite_wholesale(db_path: Path, record_id: str, old: str, new: str) -> None:
    """What a careful forger does: change a chat line and recompute every hash after it."""
    import sqlite3

    from rassist.crypto import chain

    db = sqlite3.connect(db_path)
    rows = db.execute("SELECT seq, ts, kind, data FROM entries WHERE record = ? ORDER BY seq", (record_id,)).fetchall()
    prev = chain.genesis(record_id)
    for seq, ts, kind, data in rows:
        data = data.replace(old, new)
        prev = chain.entry_hash(prev, seq, ts, kind, json.loads(data))
        db.execute("UPDATE entries SET data = ?, hash = ? WHERE record = ? AND seq = ?", (data, prev, record_id, seq))
    db.execute("UPDATE records SET head = ? WHERE id = ?", (prev, record_id))
    db.commit()
    db.close()


def test_a_rewritten_record_fails_against_the_other_sides_export(server, tmp_path):
    host_dir, join_dir = tmp_path / "host-data", tmp_path / "join-data"
    host = Proc(["host", "--json", "--yes", "--server", server], env={"RASSIST_DATA_DIR": str(host_dir)})
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", server], env={"RASSIST_DATA_DIR": str(join_dir)})
    join.wait_event("connected")
    host.wait_event("connected")  # the host's commands work once its own session is up (it may come second)
    host.send({"chat": "I will not open the payroll folder"})
    join.wait_event("chat")
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0
    host_id = tickets(host_dir, "list")[1][0]["id"]
    join_id = tickets(join_dir, "list")[1][0]["id"]
    tickets(join_dir, "export", join_id, "--format", "json", "-o", str(tmp_path / "join.json"))
    _, ok = tickets(host_dir, "verify", host_id, "--peer", str(tmp_path / "join.json"))
    assert ok[0]["ok"] and ok[0]["confirmed"]

    rewrite_wholesale(host_dir / "tickets.db", host_id, "will not open", "will open")
    assert tickets(host_dir, "verify", host_id)[1][0]["ok"]  # alone, a perfect forgery looks fine...
    rc, bad = tickets(host_dir, "verify", host_id, "--peer", str(tmp_path / "join.json"), check=False)
    assert rc == 3 and not bad[0]["ok"] and "rewritten" in bad[0]["problem"]  # ...not against the peer


def test_a_shared_shell_leaves_one_ticket_with_every_helper_and_what_the_terminal_showed(server, tmp_path):
    """`host --shell` records like `host`: each helper's visit, its chat, and the terminal's
    text as it settled, found by `tickets search`; the joiner's record has the text too."""
    host_dir, join_dir = tmp_path / "host-data", tmp_path / "join-data"
    script = "echo disk-quota-exceeded-on-sdb1; sleep 60"
    host = Proc(["host", "--shell", "--json", "--yes", "--allow", "control", "--server", server, "--title",
                 "quota", "--cast", str(tmp_path / "s.cast"), "--", "sh", "-c", script],
                env={"RASSIST_DATA_DIR": str(host_dir)})
    first = Proc(["join", host.wait_event("code")["code"], "--json", "--name", "ann", "--server", server],
                 env={"RASSIST_DATA_DIR": str(join_dir)})
    first.wait_event("connected")
    first.send({"chat": "looking at the quota now"})
    host.wait_event("chat")
    time.sleep(3 * SAMPLE)  # two samples of a settled screen: its text is kept
    first.send({"quit": True})
    assert first.wait_exit() == 0
    second = Proc(["join", host.wait_event("code")["code"], "--json", "--name", "bob", "--server", server],
                  env={"RASSIST_DATA_DIR": str(tmp_path / "second-data")})
    second.wait_event("connected")
    host.wait_event("connected")
    second.send({"quit": True})
    assert second.wait_exit() == 0
    host.send({"quit": True})
    assert host.wait_exit() == 0

    info, entries = one_record(host_dir)
    assert info["title"] == "quota" and info["verify"]["ok"] and info["outcome"] == "quit"
    assert [e["data"]["peer"] for e in entries if e["kind"] == "connected"] == ["ann", "bob"]
    assert [e["data"]["text"] for e in entries if e["kind"] == "chat"] == ["looking at the quota now"]
    texts = [e["data"]["text"] for e in entries if e["kind"] == "screen-text"]
    assert len(texts) == 1 and "disk-quota-exceeded-on-sdb1" in texts[0]  # kept once, not every sample
    _, hits = tickets(host_dir, "search", "disk-quota-exceeded-on-sdb1")
    assert [h["record"] for h in hits if h["event"] == "hit"] == [info["id"]]
    _, jentries = one_record(join_dir)
    assert any(e["kind"] == "screen-text" and "disk-quota-exceeded-on-sdb1" in e["data"]["text"]
               for e in jentries)
