"""`rassist send` / `rassist receive` as real processes on loopback, driven through --json."""

import hashlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from rassist.errors import ConnectionLost, DeclinedError
from tests.procs import Proc
from tests.transfer.cmd import rassist
from tests.transfer.helpers import random_file, sha256_of


def send(server: str, *args: str) -> tuple[Proc, str]:
    proc = rassist(["send", "--json", "--server", server, *args])
    return proc, proc.wait_event("code")["code"]


def receive(server: str, code: str, target: Path, *args: str) -> Proc:
    return rassist(["receive", code, "--json", "--server", server, "-o", str(target), *args])


def finish(sender: Proc, receiver: Proc) -> tuple[list[dict], list[dict]]:
    assert receiver.wait_exit(60) == 0, receiver.drain()[-4:]
    assert sender.wait_exit(30) == 0, sender.drain()[-4:]
    return sender.drain(), receiver.drain()


def named(events: list[dict], name: str) -> list[dict]:
    return [e for e in events if e.get("event") == name]


def test_one_file(server, tmp_path):
    digest = random_file(tmp_path / "report.pdf", 200_000)
    sender, code = send(server, str(tmp_path / "report.pdf"))
    receiver = receive(server, code, tmp_path / "in", "--yes")
    sent, got = finish(sender, receiver)
    offer = named(got, "file-offer")[0]
    assert (offer["name"], offer["files"], offer["size"]) == ("report.pdf", 1, 200_000)
    done = named(got, "file-done")[0]
    assert (done["path"], done["size"], done["sha256"]) == ("report.pdf", 200_000, digest)
    assert done["saved_to"] == str(tmp_path / "in" / "report.pdf")
    assert sha256_of(tmp_path / "in" / "report.pdf") == digest
    assert named(sent, "file-done")[0]["sha256"] == digest
    assert named(got, "closed")[-1]["reason"] == "done"
    assert named(got, "transfer-done")[0]["lane"] == "tcp"


def test_a_tree_with_empty_file_empty_dir_unicode_names_and_exec_bits(server, tmp_path):
    src = tmp_path / "projet été"
    (src / "vide").mkdir(parents=True)
    (src / "数据").mkdir()
    (src / "数据" / "ファイル 🎉.txt").write_text("こんにちは")
    (src / "zero.txt").write_bytes(b"")
    (src / "run.sh").write_text("#!/bin/sh\necho ok\n")
    os.chmod(src / "run.sh", 0o755)
    sender, code = send(server, str(src))
    receiver = receive(server, code, tmp_path / "in", "--yes")
    _, got = finish(sender, receiver)
    out = tmp_path / "in" / "projet été"
    assert (out / "数据" / "ファイル 🎉.txt").read_text() == "こんにちは"
    assert (out / "zero.txt").read_bytes() == b""
    assert (out / "vide").is_dir() and not list((out / "vide").iterdir())
    assert os.access(out / "run.sh", os.X_OK) and not os.access(out / "zero.txt", os.X_OK)
    paths = {e["path"] for e in named(got, "file-done")}
    assert paths == {"projet été/数据/ファイル 🎉.txt", "projet été/zero.txt", "projet été/run.sh"}
    zero = next(e for e in named(got, "file-done") if e["path"].endswith("zero.txt"))
    assert zero["sha256"] == hashlib.sha256(b"").hexdigest()


def test_a_large_file_over_the_fast_lane(server, tmp_path):
    size = 64 << 20
    digest = random_file(tmp_path / "disk.img", size)
    sender, code = send(server, str(tmp_path / "disk.img"))
    receiver = receive(server, code, tmp_path / "in", "--yes")
    _, got = finish(sender, receiver)
    assert sha256_of(tmp_path / "in" / "disk.img") == digest
    assert named(got, "file-done")[0]["sha256"] == digest
    summary = named(got, "transfer-done")[0]
    assert (summary["lane"], summary["bytes"], summary["moved"]) == ("tcp", size, size)
    progress = named(got, "file-progress")
    assert progress and all(p["size"] == size and 0 <= p["bytes"] <= size for p in progress)


def test_the_data_channel_fallback_still_completes(server, tmp_path):
    digest = random_file(tmp_path / "a.bin", 1 << 20)
    (tmp_path / "b.txt").write_text("b")
    sender, code = send(server, "--no-fast-lane", str(tmp_path / "a.bin"), str(tmp_path / "b.txt"))
    receiver = receive(server, code, tmp_path / "in", "--yes")
    sent, got = finish(sender, receiver)
    assert named(got, "transfer-done")[0]["lane"] == "datachannel"
    assert named(sent, "transfer-done")[0]["lane"] == "datachannel"
    assert sha256_of(tmp_path / "in" / "a.bin") == digest
    assert (tmp_path / "in" / "b.txt").read_text() == "b"


def test_resume_after_the_sender_is_killed(server, tmp_path):
    size = 64 << 20
    digest = random_file(tmp_path / "big.bin", size)
    sender, code = send(server, "--limit-rate", "24M", str(tmp_path / "big.bin"))
    receiver = receive(server, code, tmp_path / "in", "--yes")
    while True:
        progress = receiver.wait_event("file-progress")
        if progress["bytes"] >= size // 2:
            break
    sender.proc.send_signal(signal.SIGKILL)
    sender.wait_exit()
    assert receiver.wait_exit(30) == ConnectionLost.exit_code
    first = receiver.drain()
    assert not named(first, "file-done") and not (tmp_path / "in" / "big.bin").exists()
    had = max(e["bytes"] for e in named(first, "file-progress"))

    sender, code = send(server, str(tmp_path / "big.bin"))
    receiver = receive(server, code, tmp_path / "in", "--yes")
    _, got = finish(sender, receiver)
    assert sha256_of(tmp_path / "in" / "big.bin") == digest
    done = named(got, "file-done")[0]
    assert done["sha256"] == digest and done["resumed_from"] + done["moved"] == size
    assert done["resumed_from"] >= had >= size // 2  # at least what the receiver reported
    assert done["moved"] <= size // 2
    assert named(got, "transfer-done")[0]["moved"] == done["moved"]
    assert not any(p.name.startswith(".rassist-") for p in (tmp_path / "in").iterdir())


def test_decline(server, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    sender, code = send(server, str(tmp_path / "x.txt"))
    receiver = receive(server, code, tmp_path / "in")
    offer = receiver.wait_event("file-offer")
    receiver.send({"decline": offer["id"]})
    assert receiver.wait_exit() == DeclinedError.exit_code
    assert sender.wait_exit() == DeclinedError.exit_code
    assert sender.wait_event("error")["kind"] == "declined"
    assert not (tmp_path / "in" / "x.txt").exists()


def test_accept_on_stdin_and_existing_files_are_kept(server, tmp_path):
    (tmp_path / "x.txt").write_text("new")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.txt").write_text("old")
    sender, code = send(server, str(tmp_path / "x.txt"))
    receiver = receive(server, code, tmp_path / "in")
    receiver.send({"accept": receiver.wait_event("file-offer")["id"]})
    _, got = finish(sender, receiver)
    assert (tmp_path / "in" / "x.txt").read_text() == "old"
    assert (tmp_path / "in" / "x (1).txt").read_text() == "new"
    assert named(got, "file-done")[0]["saved_to"] == str(tmp_path / "in" / "x (1).txt")

    sender, code = send(server, str(tmp_path / "x.txt"))
    finish(sender, receive(server, code, tmp_path / "in", "--yes", "--overwrite"))
    assert (tmp_path / "in" / "x.txt").read_text() == "new"


def test_a_text_snippet(server, tmp_path):
    sender, code = send(server, "--text", "ssh ops@10.0.0.7 -p 2222")
    receiver = receive(server, code, tmp_path, "--yes")
    _, got = finish(sender, receiver)
    assert named(got, "text")[0]["text"] == "ssh ops@10.0.0.7 -p 2222"


@pytest.mark.parametrize("name", ["innocent/../../escape.txt", "innocent/sub/../../../escape.txt",
                                  "/tmp/rassist-absolute-escape.txt", "innocent/C:\\escape.txt"])
def test_hostile_names_from_a_malicious_sender(server, tmp_path, name):
    (tmp_path / "payload").write_text("pwned")
    target = tmp_path / "deep" / "in"
    mallory = Proc([sys.executable, "-m", "tests.transfer.hostile_sender", "--server", server,
                    "--file", str(tmp_path / "payload"), name], raw=True)
    code = mallory.wait_event("code")["code"]
    receiver = receive(server, code, target, "--yes")
    assert receiver.wait_exit() == 1
    error = receiver.wait_event("error")
    assert error["kind"] in ("unsafe-name", "protocol") and "unsafe" in error["message"]
    mallory.wait_exit()
    assert not named(receiver.drain(), "file-done")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "deep" / "escape.txt").exists()
    assert not Path("/tmp/rassist-absolute-escape.txt").exists()
    leftovers = [p for p in target.rglob("*") if not p.name.startswith(".rassist-")] \
        if target.exists() else []
    assert not [p for p in leftovers if p.is_file()]


def test_deeply_nested_manifest_is_a_protocol_error(server, tmp_path):
    (tmp_path / "payload").write_text("x")
    mallory = Proc([sys.executable, "-m", "tests.transfer.hostile_sender", "--server", server,
                    "--file", str(tmp_path / "payload"), "--deep", "4000", "innocent/x.txt"], raw=True)
    code = mallory.wait_event("code")["code"]
    receiver = receive(server, code, tmp_path / "in", "--yes")
    assert receiver.wait_exit() == 1
    error = receiver.wait_event("error")
    assert error["kind"] in ("protocol", "unsafe-name") and "nested" in error["message"], error
    assert "Traceback" not in "".join(receiver.stderr_lines)
    mallory.wait_exit()


def test_human_mode_prints_progress_and_a_summary(server, tmp_path):
    random_file(tmp_path / "f.bin", 3 << 20)
    sender = rassist(["send", "--server", server, str(tmp_path / "f.bin")])
    code = None
    while code is None:  # human output goes to stderr; the code is in the first lines
        code = next((line.split()[-1] for line in sender.stderr_lines
                     if "rassist receive" in line), None)
        if code is None:
            sender.proc.poll()
            assert sender.proc.returncode is None, sender.stderr_lines
            time.sleep(0.1)
    receiver = rassist(["receive", code, "--server", server, "-o", str(tmp_path / "in"), "--yes"])
    assert receiver.wait_exit(60) == 0 and sender.wait_exit(30) == 0
    text = "".join(receiver.stderr_lines)
    assert "f.bin" in text and "Done" in text and "sha256" in text
    assert not receiver.drain()  # nothing on stdout in human mode


def test_no_answer_on_a_closed_stdin_is_a_decline(server, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    sender, code = send(server, str(tmp_path / "x.txt"))
    receiver = receive(server, code, tmp_path / "in")
    receiver.close_stdin()
    assert receiver.wait_exit() == DeclinedError.exit_code
    assert sender.wait_exit() == DeclinedError.exit_code
    assert not (tmp_path / "in").exists()


def test_resume_after_the_receiver_is_killed(server, tmp_path):
    size = 48 << 20
    digest = random_file(tmp_path / "big.bin", size)
    sender, code = send(server, "--limit-rate", "24M", str(tmp_path / "big.bin"))
    receiver = receive(server, code, tmp_path / "in", "--yes")
    while receiver.wait_event("file-progress")["bytes"] < size // 2:
        pass
    receiver.proc.send_signal(signal.SIGKILL)
    receiver.wait_exit()
    assert sender.wait_exit(30) == ConnectionLost.exit_code
    assert not named(sender.drain(), "file-done")

    sender, code = send(server, str(tmp_path / "big.bin"))
    receiver = receive(server, code, tmp_path / "in", "--yes")
    _, got = finish(sender, receiver)
    done = named(got, "file-done")[0]
    assert done["sha256"] == digest == sha256_of(tmp_path / "in" / "big.bin")
    assert done["resumed_from"] >= size // 2 and done["moved"] == size - done["resumed_from"]
