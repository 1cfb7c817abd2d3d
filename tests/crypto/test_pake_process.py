"""SPAKE2 in a worker process: the same keys as in this one, hostile messages still only
PakeError, a failing worker never taken for a wrong code, nothing imported from the cwd."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.crypto import pake_process
from rassist.crypto.pake import Pake, PakeError
from rassist.crypto.pake_process import PakeProcess, WorkerGone, start_for
from rassist.protocol.pairing import Failed, Pairing, State

CODE = "7-acme-adviser"
OFF_CURVE = b"S" + (2).to_bytes(32, "little")


def worker(code: str = CODE) -> PakeProcess:
    started = PakeProcess.start(code)
    assert started is not None, "this machine has more than one CPU: a worker should start"
    return started


def test_the_worker_and_this_process_agree_on_the_key() -> None:
    here, there = Pake(CODE), worker()
    assert there.finish(here.outbound) == here.finish(there.outbound)
    assert there._proc.returncode == 0  # done and gone once it has answered


def test_a_different_code_gives_a_different_key() -> None:
    here, there = Pake("7-acme-advocate"), worker()
    assert there.finish(here.outbound) != here.finish(there.outbound)


def test_pairings_with_a_worker_on_one_side_pair() -> None:
    join = Pairing("join", CODE, "helper", ("view",), pake=worker())
    host = Pairing("host", CODE, "desk")
    (claim,) = join.start()
    sent = host.receive(claim.body)
    for action in sent:
        join.receive(action.body)
    assert join.key == host.key and join.state is State.AWAIT_DECISION


def test_hostile_messages_are_pake_errors_from_the_worker_too() -> None:
    with pytest.raises(PakeError):
        worker().finish(OFF_CURVE)
    with pytest.raises(PakeError, match="side marker or length"):
        worker().finish(b"A" + bytes(32))  # refused here: the worker is not even asked
    join = Pairing("join", CODE, "helper", pake=worker())
    join.start()
    assert [type(a) for a in join.receive(OFF_CURVE)] == [Failed] and join.state is State.FAILED


@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_any_33_byte_message_gives_a_key_or_pake_error(point: bytes) -> None:
    try:
        key = worker().finish(b"S" + point)
    except PakeError:
        return
    assert len(key) == 32


def test_a_worker_that_dies_before_our_message_is_replaced_by_spake2_here() -> None:
    there = worker()
    there._proc.kill()
    there._proc.wait()
    here = Pake(CODE)
    assert there.finish(here.outbound) == here.finish(there.outbound)


def test_a_worker_that_dies_after_our_message_is_no_wrong_code() -> None:
    there = worker()
    assert there.outbound[:1] == b"S"
    there._proc.kill()
    there._proc.wait()
    with pytest.raises(WorkerGone):
        there.finish(Pake(CODE).outbound)


def fake_worker(tmp_path: Path, output: bytes, then_sleep: float = 0.0) -> PakeProcess:
    """A worker that says `output` whatever it is told (and stays that long)."""
    script = tmp_path / "fake.py"
    script.write_text("import sys, time\nsys.stdout.buffer.write(%r)\nsys.stdout.flush()\ntime.sleep(%r)\n"
                      % (output, then_sleep))
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return PakeProcess(proc, CODE)


def test_a_worker_answering_nonsense_is_gone_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pake_process, "FINISH_TIMEOUT", 0.5)
    ours = Pake(CODE).outbound
    frame = len(ours).to_bytes(4, "big") + ours
    for answer in (frame + (10**6).to_bytes(4, "big"),                # oversized
                   frame + (40).to_bytes(4, "big") + b"K" + b"short",  # cut short
                   frame + (2).to_bytes(4, "big") + b"K!",             # a key of one byte
                   frame + (2).to_bytes(4, "big") + b"X!",             # neither K nor E
                   frame):                                             # silent after our message
        fake = fake_worker(tmp_path, answer, then_sleep=2.0)
        assert fake.outbound == ours
        with pytest.raises(WorkerGone):
            fake.finish(Pake(CODE).outbound)
        fake.close()


def test_nonsense_instead_of_our_message_means_spake2_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pake_process, "FIRST_TIMEOUT", 0.5)
    code = (len(CODE)).to_bytes(4, "big") + CODE.encode()  # a worker that echoes: never sent on
    for answer in (b"\xff\xff\xff\xff", b"\x00\x00", b"", b"\x00\x00\x00\x05hello", code,
                   (33).to_bytes(4, "big") + b"A" * 33):
        fake = fake_worker(tmp_path, answer, then_sleep=2.0)
        here = Pake(CODE)
        assert fake.finish(here.outbound) == here.finish(fake.outbound)


def test_one_cpu_for_us_means_spake2_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # taskset -c 0 on a bigger machine
    assert PakeProcess.start(CODE) is None


@pytest.mark.parametrize("executable", [None, "", "/nonexistent/python3"])
def test_no_interpreter_to_start_means_spake2_here(monkeypatch: pytest.MonkeyPatch, executable: str | None) -> None:
    monkeypatch.setattr(sys, "executable", executable)
    assert PakeProcess.start(CODE) is None


def test_the_worker_is_out_of_reach_of_a_ctrl_c_at_our_terminal() -> None:
    there = worker()
    assert os.getpgid(there._proc.pid) != os.getpgid(0)
    there.close()


def test_start_for_takes_the_code_as_pairing_reads_it() -> None:
    assert start_for(None) is None and start_for("") is None
    assert start_for("not a code") is None  # join says what is wrong with it
    there = start_for("  7-Acme-Adviser ")
    assert there is not None and there.code == CODE
    there.close()


def test_the_worker_imports_only_from_our_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As the installed `rassist` runs: its path has no current directory (python -c and -m
    # would put one there, for the worker as for us); PYTHONPATH is ours to use, not the worker's.
    marker = tmp_path / "imported"
    for name in ("spake2.py", "cryptography.py"):
        (tmp_path / name).write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    here, there = Pake(CODE), worker()
    assert there.finish(here.outbound) == here.finish(there.outbound)
    assert not marker.exists()


def test_the_code_is_not_on_the_workers_command_line() -> None:
    there = worker()
    assert not any(CODE in str(arg) for arg in there._proc.args)
    there.close()
