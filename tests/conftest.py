from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from hypothesis import settings

from tests.procs import Proc, rendezvous_server
from tests.xvfb import xvfb

# Property tests check results, never time: on a loaded 2-core CI machine one example can take
# longer than hypothesis' 200 ms deadline (a flaky "DeadlineExceeded" for a correct decoder).
settings.register_profile("rassist", deadline=None)
settings.load_profile("rassist")

# Fixtures of the input tests (an X server handle, a key-logging window), usable by any test.
pytest_plugins = ["tests.media.input_fixtures"]


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """A 1920x1080 virtual screen shared by the display tests of one run."""
    if shutil.which("Xvfb") is None:
        pytest.skip(reason="Xvfb is not installed: .ci/run installs it with apt-get install xvfb")
    with xvfb() as display:
        yield display


@pytest.fixture
def display_env(x_display: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """DISPLAY set for this test (and the processes it starts)."""
    monkeypatch.setenv("DISPLAY", x_display)
    return x_display


@pytest.fixture
def server() -> Iterator[str]:
    """A real `rassist server` on 127.0.0.1, port 0; yields its URL."""
    with rendezvous_server() as url:
        yield url


@pytest.fixture(autouse=True)
def private_records(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session records (tickets) of a test go to a private folder, never the user's data dir;
    tests that look at records set RASSIST_DATA_DIR themselves."""
    monkeypatch.setenv("RASSIST_DATA_DIR", str(tmp_path_factory.mktemp("records")))
    monkeypatch.delenv("RASSIST_TICKETS_URL", raising=False)


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """A failed test must not leave host/join processes running into the next one."""
    yield
    while Proc.running:
        Proc.running.pop().kill()
    from tests.ptyproc import PtyProc

    while PtyProc.running:
        PtyProc.running.pop().kill()
