import pytest


@pytest.fixture(autouse=True)
def private_registry(tmp_path, monkeypatch):
    """Each test gets its own same-machine registry, so embedded hosts never meet by accident."""
    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path / "registry"))
