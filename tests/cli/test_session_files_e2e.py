"""Files offered inside a host/join session, both ways, through the real commands."""

import hashlib

from tests.procs import Proc


def test_files_both_ways_inside_a_session(server, tmp_path):
    host_dir, join_dir = tmp_path / "host", tmp_path / "join"
    host_dir.mkdir()
    join_dir.mkdir()
    log = tmp_path / "install.log"
    log.write_bytes(b"line\n" * 50_000)
    shot = tmp_path / "screenshot.bin"
    shot.write_bytes(bytes(range(256)) * 4000)

    host = Proc(["host", "--json", "--allow", "files", "--server", server, "--download-dir", str(host_dir)])
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--files", "--server", server, "--download-dir", str(join_dir)])
    assert "files" in join.wait_event("connected")["granted"]

    join.send({"send": str(log)})                       # joiner -> host
    offer = host.wait_event("file-offer")
    assert offer["name"] == "install.log" and offer["size"] == 250_000
    host.send({"accept": offer["id"]})
    done = host.wait_event("file-done")
    assert done["sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
    assert (host_dir / "install.log").read_bytes() == log.read_bytes()

    host.send({"send": str(shot)})                      # host -> joiner, declined
    offer = join.wait_event("file-offer")
    join.send({"decline": offer["id"]})
    assert host.wait_event("error", kind="declined")["id"] == offer["id"]
    assert not (join_dir / "screenshot.bin").exists()

    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_joiner_without_the_files_permission_is_refused(server, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("hello")
    host = Proc(["host", "--json", "--yes", "--server", server, "--download-dir", str(tmp_path)])
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--files", "--server", server])
    assert join.wait_event("connected")["granted"] == ["view"]
    join.send({"send": str(note)})
    refusal = join.wait_event("error", kind="command")
    assert "not granted file transfer" in refusal["message"]
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0
