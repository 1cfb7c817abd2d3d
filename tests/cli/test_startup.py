"""Start-up stays light: the code paths that print a send code or parse a join never load
WebRTC, video, numpy or the TUI; plain options skip typer's pydantic path without changing
what they mean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist import startup
from rassist.cli import fastparams
from tests.procs import Proc

HEAVY = ("aiortc", "av", "numpy", "textual", "pydantic")

# Runs a command in a fresh interpreter and, at the first `report_at` event (or, for join, when
# the command's work is about to start), prints which heavy modules are loaded and leaves at once.
_PROBE = """
import json, os, sys
HEAVY = {heavy!r}
def report(what):
    sys.__stdout__.write(json.dumps({{"probe": what, "loaded": [m for m in HEAVY if m in sys.modules]}}) + "\\n")
    sys.__stdout__.flush()
    os._exit(0)
from rassist.cli import output
emit = output.Output.emit
def spy(self, event, **fields):
    if event == {report_at!r}:
        report(event)
    return emit(self, event, **fields)
output.Output.emit = spy
if {stop_at_join!r}:
    import rassist.cli.joining as commands  # join's work, whichever path read its command line
    commands.run = lambda *args, **kwargs: report("join")
sys.argv = ["rassist", *{args!r}]
from rassist.cli.main import main
main()
"""


def probe(args: list[str], stop_at_join: bool = False, report_at: str = "code",
          heavy: tuple[str, ...] = HEAVY) -> dict[str, Any]:
    script = _PROBE.format(heavy=heavy, stop_at_join=stop_at_join, args=args, report_at=report_at)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}  # none: as most users
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"probe"')]
    assert lines, f"no probe report: rc={done.returncode} stdout={done.stdout!r} stderr={done.stderr[-2000:]}"
    return lines[0]


def test_send_prints_its_code_before_loading_webrtc(server, tmp_path):
    (tmp_path / "f.txt").write_text("x")
    report = probe(["send", str(tmp_path / "f.txt"), "--json", "--server", server])
    assert report == {"probe": "code", "loaded": []}


def test_a_usual_send_prints_its_code_without_typer(server, tmp_path):
    # fastargs.py reads its command line: typer and rich never load on the way to the code, nor
    # the files feature (it loads while the receiver is awaited: HostOptions.after_code), nor
    # urllib.request's http.client (no proxy to look up: rendezvous/reconnect.system_proxy).
    (tmp_path / "f.txt").write_text("x")
    report = probe(["send", str(tmp_path / "f.txt"), "--json", "--server", server],
                   heavy=("typer", "rich", "pydantic", "aiortc", "rassist.transfer.feature", "http.client"))
    assert report == {"probe": "code", "loaded": []}


def test_send_text_too(server):
    report = probe(["send", "--text", "hello", "--server", server])
    assert report == {"probe": "code", "loaded": []}


def test_a_usual_receive_skips_typer(server, tmp_path):
    # fastargs.py reads it: the receiver's start-up is on the way of every transfer.
    (tmp_path / "f.txt").write_text("x")
    sender = Proc(["send", str(tmp_path / "f.txt"), "--json", "--server", server])
    code = sender.wait_event("code")["code"]
    report = probe(["receive", code, "--json", "--yes", "-o", str(tmp_path / "in"), "--server", server],
                   report_at="waiting", heavy=("typer", "rich", "pydantic", "textual", "numpy"))
    assert report == {"probe": "waiting", "loaded": []}


def test_parsing_a_join_loads_nothing_heavy():
    report = probe(["join", "7-acme-adviser", "--json", "--server", "ws://127.0.0.1:9",
                    "--timeout", "3", "--files"], stop_at_join=True)
    assert report == {"probe": "join", "loaded": []}


def test_a_usual_join_command_line_skips_typer():
    # fastargs.py reads it; typer (and rich, which its help uses) never load.
    report = probe(["join", "7-acme-adviser", "--json", "--server", "ws://127.0.0.1:9"], stop_at_join=True,
                   heavy=("typer", "rich", "pydantic", "aiortc"))
    assert report == {"probe": "join", "loaded": []}


def test_a_json_join_connects_without_what_it_does_not_use(server):
    # --json output is never rich text: rich (~25 ms), the TUI, numpy and PIL are not loaded up
    # to "connected" (a window that opens later, e.g. /screen, may load what it needs). And
    # rassist/startup.py: aioice's mDNS module (dnspython under it), importlib.metadata,
    # urllib.request (http.client under it) and multiprocessing load only when something uses
    # them: nothing does.
    # The features' message parsers (rassist/lazy.py) load with their first message or command.
    # With a second CPU, SPAKE2 runs in a process of its own (crypto/pake_process.py).
    host = Proc(["host", "--server", server, "--json", "--yes", "--once"])
    code = host.wait_event("code")["code"]
    spake2 = ("spake2",) if (os.cpu_count() or 1) > 1 else ()
    report = probe(["join", code, "--json", "--server", server], report_at="connected",
                   heavy=("rich", "textual", "numpy", "PIL", "typer", "dns", "importlib.metadata._meta",
                          "http.client", "multiprocessing.context", "rassist.protocol.input", "rassist.protocol.annotate",
                          "rassist.protocol.terminal", "rassist.protocol.transfer", "rassist.transfer.offers",
                          "rassist.media.control", *spake2))
    assert report == {"probe": "connected", "loaded": []}


names = st.one_of(st.text(max_size=70), st.from_regex(r"[a-zA-Z0-9-]{0,65}\.local", fullmatch=True),
                  st.sampled_from(["a.local", "a.local\n", "A-1.local", ".local", "a.b.local", "x.localx"]))


@settings(deadline=None, max_examples=300)
@given(names)
def test_the_mdns_stand_in_answers_as_aioice_does(name):
    from aioice import mdns

    standin = startup.mdns_standin()
    assert standin is not None, "aioice/mdns.py changed: the stand-in in rassist/startup.py is off"
    assert standin.is_mdns_hostname(name) == mdns.is_mdns_hostname(name)


def test_the_mdns_stand_in_loads_the_real_module_for_anything_else():
    standin = startup.mdns_standin()
    assert standin is not None
    assert type(standin) is not type(startup)  # still deferred
    hostname = standin.create_mdns_hostname()  # not in the stand-in: the real code runs into it
    assert hostname.endswith(".local") and standin.is_mdns_hostname(hostname)
    assert type(standin) is type(startup) and "MDnsProtocol" in vars(standin)
    assert standin.is_mdns_hostname.__module__ == "aioice.mdns"


def test_deferred_package_metadata_still_answers():
    script = ("import sys\nfrom rassist import startup\nstartup.defer_unused_modules()\n"
              "import importlib.metadata as m\nprint(type(m).__name__, 'importlib.metadata._meta' in sys.modules)\n"
              "print(m.version('websockets'), 'importlib.metadata._meta' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    from importlib.metadata import version

    assert done.stdout.split("\n")[:2] == ["_Deferred False", f"{version('websockets')} True"], done.stderr


def test_the_help_loads_nothing_heavy():
    script = ("import sys; sys.argv = ['rassist', '--help']\nfrom rassist.cli.main import app\n"
              "try:\n    app()\nexcept SystemExit:\n    pass\n"
              f"print([m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------- plain option values

class Info:
    def __init__(self, **kw: Any) -> None:
        self.min = kw.get("min")
        self.max = kw.get("max")
        self.clamp = False
        for key, value in fastparams._PLAIN_PATH.items():
            setattr(self, key, kw.get(key, value))


def typer_value(annotation: Any, info: Any, value: Any) -> Any:
    """What typer's own (pydantic) path makes of `value`, or the exception it raises."""
    from typer._coercion import resolve_type_descriptor
    from typer.models import OptionInfo

    option = OptionInfo(min=info.min, max=info.max, file_okay=info.file_okay)
    descriptor = resolve_type_descriptor(annotation, option)
    from typer._coercion import build_runtime_param  # typer's own: install() patches typer.core

    return build_runtime_param(descriptor)._coerce_value(value, param=None, ctx=None)


values = st.one_of(st.text(max_size=12), st.integers(-20, 20).map(str),
                   st.floats(-20, 20, allow_nan=False).map(str), st.sampled_from(["1e3", " 5", "0x10", "nan", "inf", "-0"]))


@settings(deadline=None, max_examples=300)
@given(values, st.sampled_from([(str, {}), (int, {"min": 2, "max": 8}), (float, {"min": 0.1}),
                                (float, {}), (int, {}), (Path, {})]))
def test_plain_values_mean_what_typer_makes_of_them(value, kind):
    annotation, bounds = kind
    info = Info(**bounds)
    plain = fastparams.convert(annotation, info, value)
    if plain is fastparams._NO:
        return  # typer's own path decides (and words any error)
    try:
        expected = typer_value(annotation, info, value)
    except Exception:  # noqa: BLE001 - typer refuses what we accepted: a real difference
        pytest.fail(f"{value!r} as {annotation}: accepted here, refused by typer")
    assert plain == expected and type(plain) is type(expected)


def test_lists_and_flags():
    info = Info()
    assert fastparams.convert(list[Path], info, ("a", "b/c")) == [Path("a"), Path("b/c")]
    assert fastparams.convert(bool, info, True) is True
    assert fastparams.convert(bool, info, "yes") is fastparams._NO
    assert fastparams.convert(Path, Info(file_okay=False), "x") is fastparams._NO


def test_the_collector_pauses_only_for_start_up():
    """main() turns the cyclic GC off while modules load and back on after GC_PAUSE, whatever
    the command (here a server, which runs until stopped)."""
    script = """
import gc, os, sys, threading, time
from rassist.cli import main as cli
cli.GC_PAUSE = 0.3
def watch():
    time.sleep(0.1)
    early = gc.isenabled()
    time.sleep(1.0)
    print("GC", early, gc.isenabled(), flush=True)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv = ["rassist", "server", "--host", "127.0.0.1", "--port", "0", "--no-stun"]
cli.main()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "GC False True" in done.stdout, (done.stdout, done.stderr[-2000:])
