"""Stores for the record tests: SQLite in a temp dir, and a real PostgreSQL server (Debian's
postgresql: a throwaway cluster made with initdb and started with pg_ctl on a unix socket in
a temp dir, as the postgres user when we are root)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rassist.records.store import Store

_dbs = itertools.count()


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_owner(args: list[str], owner: str | None) -> None:
    cmd = ["runuser", "-u", owner, "--", *args] if owner else args
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def postgres_socket() -> Iterator[str]:
    """The directory of a fresh cluster's unix socket; the cluster is removed afterwards."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip(reason="PostgreSQL server binaries are missing: apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip(reason="psycopg is not installed: pip install 'rassist[postgres]'")
    owner = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    root = tempfile.mkdtemp(prefix="rassist-pg-")
    os.chmod(root, 0o755)
    if owner:
        shutil.chown(root, owner)
    data = f"{root}/data"
    try:
        _as_owner([str(bindir / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "-N"], owner)
        _as_owner([str(bindir / "pg_ctl"), "-D", data, "-l", f"{root}/log", "-w", "-t", "60", "-o",
                   f"-k {root} -c listen_addresses='' -c fsync=off -c full_page_writes=off", "start"], owner)
        yield root
    finally:
        with_stop = [str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]
        subprocess.run(["runuser", "-u", owner, "--", *with_stop] if owner else with_stop, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


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
