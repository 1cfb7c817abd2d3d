"""A throwaway PostgreSQL cluster (Debian's postgresql binaries): initdb, pg_ctl start on a
unix socket in a temp dir, as the postgres user when we are root; removed on the way out."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@contextmanager
def cluster() -> Iterator[str]:
    """Yields the socket directory; `postgresql://postgres@/postgres?host=DIR` connects."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries are missing: apt-get install postgresql")
    owner = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root

    def as_owner(args: list[str], check: bool = True) -> None:
        cmd = ["runuser", "-u", owner, "--", *args] if owner else args
        subprocess.run(cmd, check=check, capture_output=True, timeout=120)

    root = tempfile.mkdtemp(prefix="rassist-pg-")
    os.chmod(root, 0o755)
    if owner:
        shutil.chown(root, owner)
    data = f"{root}/data"
    try:
        as_owner([str(bindir / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "-N"])
        as_owner([str(bindir / "pg_ctl"), "-D", data, "-l", f"{root}/log", "-w", "-t", "60", "-o",
                  f"-k {root} -c listen_addresses='' -c fsync=off -c full_page_writes=off", "start"])
        yield root
    finally:
        as_owner([str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)
