from collections.abc import Iterator

import pytest

from tests.procs import rendezvous_server


@pytest.fixture
def server() -> Iterator[str]:
    with rendezvous_server() as url:
        yield url


@pytest.fixture(autouse=True)
def private_registry(tmp_path, monkeypatch):
    """Each test gets its own same-machine registry, so embedded hosts never meet by accident."""
    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path / "registry"))
