"""Stores for the record tests: SQLite in a temp dir, and a real PostgreSQL server (Debian's
postgresql: a throwaway cluster made with initdb and started with pg_ctl on a unix socket in
a temp dir, as the postgres user when we are root)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rassist.records.store import Store
from tests.records.pgcluster import cluster, pg_bin

_dbs = itertools.count()


@pytest.fixture(scope="session")
def postgres_socket() -> Iterator[str]:
    """The directory of a fresh cluster's unix socket; the cluster is removed afterwards."""
    if pg_bin() is None:
        pytest.skip(reason="PostgreSQL server binaries are missing: apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip(reason="psycopg is not installed: pip install 'rassist[postgres]'")
    with cluster() as socket_dir:
        yield socket_dir


@pytest.fixture
def postgres_url(postgres_socket: str) -> str:
    """A fresh, empty database in the throwaway cluster."""
    import psycopg

    name = f"t{os.getpid()}_{next(_dbs)}"
    with psycopg.connect(f"postgresql://postgres@/postgres?host={postgres_socket}", autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@/{name}?host={postgres_socket}"


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Store]]:
    """Opens (again and again) one empty store of each kind, as configured by the environment."""
    monkeypatch.setenv("RASSIST_DATA_DIR", str(tmp_path / "data"))
    if request.param == "postgresql":
        monkeypatch.setenv("RASSIST_TICKETS_URL", request.getfixturevalue("postgres_url"))
    from rassist.records.store import open_store as opener

    opened: list[Store] = []

    def make() -> Store:
        opened.append(opener())
        return opened[-1]

    yield make
    for store in opened:
        store.close()


def raw_sql(store: Store, sql: str, args: tuple = ()) -> None:
    """Tamper with a store behind its back: `entries` names the entries table, ? the parameters."""
    from rassist.records.pg_store import PgStore

    if isinstance(store, PgStore):
        store.db.execute(sql.replace("entries", "rassist_entries").replace("?", "%s"), args)
    else:
        store.db.execute(sql, args)
