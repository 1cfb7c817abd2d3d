"""`receive -o DIR` (and --download-dir) are checked before pairing: a bad DIR must not burn the code."""

from __future__ import annotations

import os
import subprocess

import pytest

from rassist.errors import UsageError
from tests.cli.test_transfer_e2e import finish, receive, send


def test_a_file_as_output_dir_is_refused_before_pairing(server, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    sender, code = send(server, str(tmp_path / "x.txt"))
    (tmp_path / "taken").write_text("a file")
    bad = receive(server, code, tmp_path / "taken", "--yes")
    assert bad.wait_exit() == UsageError.exit_code
    error = bad.wait_event("error")
    assert "that is a file, not a directory" in error["message"]
    good = receive(server, code, tmp_path / "in", "--yes")  # the code still works
    finish(sender, good)
    assert (tmp_path / "in" / "x.txt").read_text() == "x"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a read-only tmpfs")
def test_a_read_only_output_dir_is_refused_before_pairing_without_retry_advice(server, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)], check=True)
    try:
        sender, code = send(server, str(tmp_path / "x.txt"))
        bad = receive(server, code, ro, "--yes")
        assert bad.wait_exit() == UsageError.exit_code
        assert "cannot write there" in bad.wait_event("error")["message"]
        assert "again" not in "".join(bad.stderr_lines)
        nested = receive(server, code, ro / "sub", "--yes")
        assert nested.wait_exit() == UsageError.exit_code
        assert "cannot create that directory" in nested.wait_event("error")["message"]
        good = receive(server, code, tmp_path / "in", "--yes")
        finish(sender, good)
    finally:
        subprocess.run(["umount", str(ro)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a read-only tmpfs")
def test_join_download_dir_is_checked_before_pairing_too(server, tmp_path):
    from tests.procs import Proc

    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)], check=True)
    try:
        join = Proc(["join", "1-positive-kickoff", "--json", "--server", server, "--download-dir", str(ro)])
        assert join.wait_exit() == UsageError.exit_code
        assert "cannot write there" in join.wait_event("error")["message"]
    finally:
        subprocess.run(["umount", str(ro)], check=False)


def test_send_of_a_proc_file_sends_its_content(server, tmp_path):
    sender, code = send(server, "/proc/self/status")
    got = receive(server, code, tmp_path / "in", "--yes")
    finish(sender, got)
    assert (tmp_path / "in" / "status").read_bytes().startswith(b"Name:")


def test_receive_of_an_unknown_code_does_not_talk_about_a_host(server, tmp_path):
    got = receive(server, "999-positive-kickoff", tmp_path / "in", "--yes", "--timeout", "1")
    assert got.wait_exit() == 4  # the sender may not have started yet: it waits, then gives up
    message = got.wait_event("error")["message"]
    assert "nobody with code number 999" in message and "host" not in message
