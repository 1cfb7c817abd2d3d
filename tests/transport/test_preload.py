"""preload: modules imported once on a worker thread, errors handed to whoever waits, the
switch interval back to what it was."""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from pathlib import Path

import pytest

from rassist.transport import preload


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh package whose modules record the thread that imported them. Its name is new for
    every test: preload remembers what it was asked to load for the whole process (an id()
    could come back, and a later test would find its modules "loaded" by an earlier one)."""
    name = f"preload_probe_{uuid.uuid4().hex}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "slow.py").write_text("import threading, time\ntime.sleep(0.2)\nTHREAD = threading.current_thread().name\n")
    (root / "fast.py").write_text("import threading\nTHREAD = threading.current_thread().name\n")
    (root / "broken.py").write_text("raise RuntimeError('no such library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[module]


def test_imports_on_a_worker_thread_once(package: str) -> None:
    interval = sys.getswitchinterval()
    first = preload.start([f"{package}.slow", f"{package}.fast"])
    again = preload.start([f"{package}.slow"])  # asked again while it loads: the same import
    assert sys.getswitchinterval() <= preload.SWITCH_INTERVAL  # while it loads
    first.result(timeout=10)
    again.result(timeout=10)
    assert sys.modules[f"{package}.slow"].THREAD == "rassist-preload"
    assert sys.modules[f"{package}.fast"].THREAD == "rassist-preload"
    assert sys.getswitchinterval() == interval
    assert preload.start([f"{package}.fast"]).result(timeout=1) is None  # loaded: done at once


def test_the_event_loop_runs_while_it_loads(package: str) -> None:
    ticks = []

    async def main() -> None:
        loading = asyncio.ensure_future(preload.ready([f"{package}.slow"]))
        while not loading.done():
            ticks.append(threading.current_thread().name)
            await asyncio.sleep(0.01)
        await loading

    asyncio.run(main())
    assert len(ticks) >= 5 and set(ticks) == {threading.main_thread().name}


def test_an_import_error_reaches_the_waiter_and_a_later_call_tries_again(package: str) -> None:
    interval = sys.getswitchinterval()
    with pytest.raises(RuntimeError, match="no such library"):
        asyncio.run(preload.ready([f"{package}.fast", f"{package}.broken"]))
    assert sys.getswitchinterval() == interval
    with pytest.raises(RuntimeError, match="no such library"):  # tried again, not a stale answer
        preload.start([f"{package}.broken"]).result(timeout=10)


def test_waiting_for_several_loads_at_once(package: str) -> None:
    slow = preload.start([f"{package}.slow"])
    both = preload.start([f"{package}.slow", f"{package}.fast"])  # one running, one fresh
    both.result(timeout=10)
    assert slow.done() and f"{package}.fast" in sys.modules
