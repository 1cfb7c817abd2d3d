"""LazyModule: nothing runs until a name is used; then the one module the import system has."""

from __future__ import annotations

import sys
import threading
import uuid
from pathlib import Path

import pytest

from rassist.lazy import LazyModule


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh package (a new name every test) whose module counts how often its code ran."""
    name = f"lazy_probe_{uuid.uuid4().hex}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("RUNS = []\n")
    (root / "wire.py").write_text(f"import time\nfrom {name} import RUNS\nRUNS.append(1)\ntime.sleep(0.05)\n"
                                  "class Frame:\n    pass\nLIMIT = 7\n")
    (root / "broken.py").write_text("raise RuntimeError('no such library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[module]


def test_nothing_loads_until_a_name_is_used(package: str) -> None:
    wire = LazyModule(f"{package}.wire")
    assert f"{package}.wire" not in sys.modules
    assert "not loaded yet" in repr(wire)
    assert wire.LIMIT == 7
    assert sys.modules[f"{package}.wire"].Frame is wire.Frame  # the module everyone else imports
    assert sys.modules[package].RUNS == [1]
    assert "loaded" in repr(wire) and "not" not in repr(wire)


def test_a_module_imported_before_is_the_one_used(package: str) -> None:
    import importlib

    real = importlib.import_module(f"{package}.wire")
    assert isinstance(real.Frame(), LazyModule(f"{package}.wire").Frame)
    assert sys.modules[package].RUNS == [1]


def test_several_threads_at_once_run_its_code_once(package: str) -> None:
    wire = LazyModule(f"{package}.wire")
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(wire.Frame)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and len(set(map(id, seen))) == 1
    assert sys.modules[package].RUNS == [1]


def test_a_missing_name_or_a_failing_module_raises_where_it_is_used(package: str) -> None:
    with pytest.raises(AttributeError):
        LazyModule(f"{package}.wire").NOT_THERE
    broken = LazyModule(f"{package}.broken")
    for _ in range(2):  # not remembered as loaded: the next use tries again
        with pytest.raises(RuntimeError, match="no such library"):
            broken.anything
    with pytest.raises(ModuleNotFoundError):
        LazyModule(f"{package}.absent").anything
