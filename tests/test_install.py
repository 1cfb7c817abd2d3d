"""The two commands at the top of the README and what CI proves about them.

The install test really installs (from the package index, binary wheels only) into a temporary
virtualenv made by the system Python: that is the proof that no compiler is needed and that the
"externally managed" system Python is never touched.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _system_python() -> str:
    """Debian's own python3 where there is one (the externally managed one), else ours."""
    return "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def test_version_is_printed_and_matches_the_package() -> None:
    from rassist import __version__

    out = subprocess.run([sys.executable, "-m", "rassist", "--version"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"rassist {__version__}"


def test_readme_first_command_uses_the_installer_not_the_system_pip() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```sh", 1)[1].split("```", 1)[0].strip()
    assert block.startswith("./scripts/install.sh && ~/.local/bin/rassist host")
    assert "\n./scripts/test.sh\n" in readme


@pytest.mark.timeout(900)
def test_install_script_makes_its_own_venv_from_binary_wheels(tmp_path: Path) -> None:
    env = {**os.environ, "RASSIST_HOME": str(tmp_path / "home"), "RASSIST_BIN": str(tmp_path / "bin"),
           "RASSIST_PYTHON": _system_python(), "PATH": "/usr/bin:/bin"}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    out = subprocess.run([str(ROOT / "scripts/install.sh")], env=env, capture_output=True, text=True, timeout=880)
    assert out.returncode == 0, out.stderr[-3000:]
    command = tmp_path / "bin" / "rassist"
    assert command.resolve() == (tmp_path / "home" / "venv" / "bin" / "rassist").resolve()
    assert "is not on your PATH yet" in out.stderr  # tmp/bin is not: it says how to run it meanwhile
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60, env=env)
    assert version.stdout.startswith("rassist "), version.stderr
    listed = subprocess.run([str(tmp_path / "home/venv/bin/python"), "-m", "pip", "list"],
                            capture_output=True, text=True, timeout=120, env=env).stdout.lower()
    assert "python-xlib" in listed and "evdev" not in listed and "pynput" not in listed
    helped = subprocess.run([str(command), "host", "--help"], capture_output=True, text=True, timeout=60, env=env)
    assert helped.returncode == 0 and "rassist host" in helped.stdout


def test_test_script_uses_its_own_venv_and_fails_when_no_tests_ran(tmp_path: Path) -> None:
    # A ready venv that sees this interpreter's packages, stamped as installed for this
    # pyproject.toml, so the script goes straight to pytest (nothing is downloaded).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python3*/site-packages"))
    (site / "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n" + str(ROOT) + "\n")
    (site / "marker.pth").write_text("import sys; sys.stderr.write('python of the test venv\\n')\n")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".rassist-installed").write_text(f"{digest} {ROOT}\n")
    env = {**os.environ, "RASSIST_VENV": str(venv)}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([str(ROOT / "scripts/test.sh"), "-k", "no_test_has_this_name",
                          "tests/test_install.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 5, out.stdout + out.stderr
    assert "collected no tests (exit 5): that is a failure" in out.stderr
    assert "python of the test venv" in out.stderr  # pytest ran in RASSIST_VENV
