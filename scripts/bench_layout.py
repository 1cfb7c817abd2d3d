"""Which `rassist` a start-up benchmark runs.

"installed" is the layout users get from scripts/install.sh: a virtualenv of its own with rassist
built as a wheel and installed from it (compiled bytecode, the `rassist` console script). The
development venv's editable install costs every start more (its import finder loads pathlib,
importlib.util and contextlib at interpreter start-up, ~20 ms), so figures taken there overstate
what a user waits; they are still printed as "editable" for comparison with older notes.

The installed venv is kept between runs (dependencies installed once, through pip's usual cache);
the wheel of the working tree is rebuilt and reinstalled on every run, so it is the code being
measured."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLED_VENV = Path(tempfile.gettempdir()) / "rassist-bench-installed"
LAYOUTS = ("installed", "editable")


def _pip(venv: Path, *args: str) -> None:
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", "--only-binary=:all:", *args], check=True)


def install(venv: Path = INSTALLED_VENV) -> Path:
    """`venv` holding a wheel of the working tree, as install.sh makes it; returns the
    `rassist` command in it."""
    if not (venv / "bin" / "python").exists():
        # The base interpreter, as install.sh's `python3 -m venv` (not a venv inside a venv).
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    with tempfile.TemporaryDirectory() as wheels:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                        "--no-deps", "-w", wheels, str(ROOT)], check=True)
        (wheel,) = Path(wheels).glob("rassist-*.whl")
        _pip(venv, str(wheel))  # dependencies, whatever is missing
        _pip(venv, "--force-reinstall", "--no-deps", str(wheel))  # this tree's code, same version
    return venv / "bin" / "rassist"


def command(layout: str, installed: Path | None = None) -> list[str]:
    """The command line that starts rassist in `layout` (`installed`: what install() returned)."""
    if layout == "installed":
        assert installed is not None
        return [str(installed)]
    return [sys.executable, "-m", "rassist"]


def env(layout: str) -> dict[str, str]:
    """Extra environment for `layout`: the installed copy must not see the working tree
    (an empty PYTHONPATH counts as unset)."""
    return {"PYTHONPATH": ""} if layout == "installed" else {}


def describe(layout: str, installed: Path | None = None) -> str:
    if layout == "installed":
        return f"installed (wheel of this tree in a venv of its own, as scripts/install.sh: {installed})"
    return f"editable (the development venv, {sys.executable} -m rassist; PYTHONPATH={os.environ.get('PYTHONPATH', '')})"
