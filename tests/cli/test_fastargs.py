"""The start-up fast path reads `join`, `send` and `receive` command lines without typer (rassist/cli/fastargs.py).
Whatever it accepts must mean exactly what typer makes of it; whatever it is unsure of goes to
typer. Checked against the real typer declarations of the commands, with random command lines."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rassist.cli import fastargs

ENVVARS = ("RASSIST_CODE", "RASSIST_SERVER", "RASSIST_NO_FAST_LANE", "RASSIST_NO_RECORD")
FIXED = Path(tempfile.gettempdir()) / f"rassist-fastargs-{os.getpid()}"  # made by the fixture below


@pytest.fixture(scope="module", autouse=True)
def paths() -> None:
    FIXED.mkdir(exist_ok=True)
    (FIXED / "a-file").write_text("x")
    (FIXED / "a-dir").mkdir(exist_ok=True)
    yield
    (FIXED / "a-file").unlink()
    (FIXED / "a-dir").rmdir()
    FIXED.rmdir()


@contextmanager
def environment(env: dict[str, str]):
    saved = {k: os.environ.get(k) for k in ENVVARS}
    try:
        for k in ENVVARS:
            os.environ.pop(k, None)
        os.environ.update(env)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def typer_reads(command: str, args: list[str], env: dict[str, str]) -> dict[str, Any] | None:
    """The values typer hands the command's work for this command line, or None if it refuses."""
    from rassist.cli import main, session_commands, transfer

    target = {"join": (session_commands, "join_session"), "send": (transfer, "send_files"),
              "receive": (transfer, "receive_files")}[command]
    work = getattr(*target)
    names = list(inspect.signature(work).parameters)
    seen: dict[str, Any] = {}

    def capture(*values: Any, **named: Any) -> None:
        seen.update(zip(names, values))
        seen.update(named)

    setattr(*target, capture)
    try:
        app = main.build([command])
        with environment(env):
            try:
                app([command, *args], prog_name="rassist", standalone_mode=False)
            except Exception:  # noqa: BLE001 - a usage error of any kind: typer refuses
                return None
    finally:
        setattr(*target, work)
    return seen or None


SPECS = {"join": fastargs.JOIN, "send": fastargs.SEND, "receive": fastargs.RECEIVE}
OPTION_NAMES = ["--help", "--", "-x", "--jso", "--code", "-o", "-y", "-yo", "--yes=1", "--json=1", "--timeout=2",
                "--tag=x", "--code-length=3", "--download-dir=" + str(FIXED / "a-dir")]
VALUES = ["1", "0.05", "0.1", "2.5", "10", "1e3", " 5", "-1", "", "abc", "--json", "7-acme-adviser",
          "0x10", "inf", "nan", "1.", ".5", "01", "3", "9", "ws://127.0.0.1:9", "x y", "20M",
          str(FIXED / "a-file"), str(FIXED / "a-dir"), str(FIXED / "missing"), "-"]
BOOL_TEXT = st.sampled_from(["1", "0", "true", "false", "yes", "no", "on", "off", "TRUE", "2", "", " 1"])
envs = st.fixed_dictionaries({}, optional={
    "RASSIST_CODE": st.sampled_from(["7-acme-adviser", "", "-x"]),
    "RASSIST_SERVER": st.sampled_from(["ws://127.0.0.1:9", "", "-s"]),
    "RASSIST_NO_FAST_LANE": BOOL_TEXT, "RASSIST_NO_RECORD": BOOL_TEXT})


def command_lines(spec: fastargs.Spec) -> st.SearchStrategy[list[str]]:
    """Random tokens, and option-value pairs that are mostly well formed (most are accepted)."""
    names = list(spec.options)

    def pair(option: str) -> st.SearchStrategy[list[str]]:
        if spec.options[option][1] == fastargs.FLAG:
            return st.just([option])
        return st.sampled_from(VALUES).map(lambda value: [option, value])

    pairs = st.lists(st.sampled_from(names).flatmap(pair), max_size=6).map(lambda ps: [t for p in ps for t in p])
    return st.one_of(
        st.lists(st.one_of(st.sampled_from(names + OPTION_NAMES), st.sampled_from(VALUES)), max_size=8),
        pairs,
        st.tuples(st.lists(st.sampled_from(VALUES), max_size=3), pairs).map(lambda a: [*a[0], *a[1]]))


@pytest.mark.parametrize("command", sorted(SPECS))
@settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), env=envs)
def test_the_fast_path_reads_as_typer_does(command, data, env):
    args = data.draw(command_lines(SPECS[command]))
    fast = fastargs.parse(SPECS[command], args, env)
    if fast is None:
        return  # typer reads it
    assert typer_reads(command, args, env) == fast, (args, env)


@pytest.mark.parametrize("args, env", [
    (["7-acme-adviser", "--json", "--yes", "-o", ".", "--server", "ws://127.0.0.1:9"], {}),
    (["7-acme-adviser", "-y", "--overwrite", "--output", str(FIXED / "a-dir"), "--no-fast-lane",
      "--name", "ann", "--timeout", "3", "--tag", "a", "--title", "t", "--no-record"], {}),
    ([], {"RASSIST_CODE": "7-acme-adviser", "RASSIST_SERVER": "ws://h:1"}),
])
def test_the_usual_receive_command_lines_take_the_fast_path(args, env):
    fast = fastargs.parse(fastargs.RECEIVE, args, env)
    assert fast is not None
    assert typer_reads("receive", args, env) == fast


@pytest.mark.parametrize("args, env", [
    (["7-acme-adviser", "--json", "--server", "ws://127.0.0.1:9"], {}),
    (["7-acme-adviser"], {}),
    ([], {"RASSIST_CODE": "7-acme-adviser", "RASSIST_SERVER": "ws://h:1", "RASSIST_NO_RECORD": "1"}),
    (["7-acme-adviser", "--control", "--files", "--no-tui", "--name", "ann", "--timeout", "3",
      "--tag", "a", "--tag=b", "--title", "t", "-o", str(FIXED / "a-dir"), "--resume-window", "0",
      "--relay-only", "--no-fast-lane", "--no-record", "--peer-timeout", "2.5"], {}),
])
def test_the_usual_join_command_lines_take_the_fast_path(args, env):
    fast = fastargs.parse(fastargs.JOIN, args, env)
    assert fast is not None
    assert typer_reads("join", args, env) == fast


@pytest.mark.parametrize("args, env", [
    ([str(FIXED / "a-file"), "--json", "--server", "ws://127.0.0.1:9"], {}),
    ([str(FIXED / "a-file"), str(FIXED / "a-dir")], {"RASSIST_NO_FAST_LANE": "1"}),
    (["--text", "hello", "--code", "7-acme-adviser", "--code-length", "3", "--limit-rate", "20M",
      "--name", "ann", "--timeout", "3", "--tag", "a", "--title", "t", "--relay-only", "--no-record"], {}),
])
def test_the_usual_send_command_lines_take_the_fast_path(args, env):
    fast = fastargs.parse(fastargs.SEND, args, env)
    assert fast is not None
    assert typer_reads("send", args, env) == fast


def test_help_and_mistakes_stay_typers():
    env: dict[str, str] = {}
    for args in (["--help"], ["7-acme-adviser", "--help"], ["--jsn"], ["--timeout", "0"],
                 ["a", "b"], ["--", "7-acme-adviser"], ["-o", str(FIXED / "a-file")]):
        assert fastargs.parse(fastargs.JOIN, args, env) is None, args
    assert fastargs.command(["rassist", "join", "--help"], env) is None
    assert fastargs.command(["rassist", "host"], env) is None
    assert fastargs.command(["rassist", "--version"], env) is None


def test_a_mistake_on_the_fast_path_still_gets_typers_words():
    done = subprocess.run([sys.executable, "-m", "rassist", "join", "7-acme-adviser", "--timeout", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--timeout" in done.stderr and "0.1" in done.stderr
