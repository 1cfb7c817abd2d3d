"""The sender's side of the disk: paths given on the command line into a manifest.

Directories are walked in name order (the same tree gives the same manifest, hence the same
key, which is what resume relies on). A symlink inside a tree is followed only when it
points at a regular file inside that same tree; any other symlink, and anything that is
not a regular file or a directory, is skipped and reported. A path named on the command
line is followed like any program would.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rassist.errors import UsageError
from rassist.protocol.transfer_manifest import Entry, Manifest, ManifestError, make_manifest
from rassist.protocol.transfer_paths import UnsafePath, check_relpath


# /proc, /sys and friends report size 0 and have content when read: what is read is sent, from
# a private copy (the manifest must know the size before the data moves), up to this much.
PSEUDO_LIMIT = 16 * 1024 * 1024


@dataclass
class Scan:
    manifest: Manifest
    sources: dict[int, Path]  # file index -> the local file to read
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (local path, why)
    scratch: tempfile.TemporaryDirectory[str] | None = None  # copies of size-0 pseudo files


def _read_pseudo(path: Path) -> bytes:
    """The content of a file whose stat size is 0 (empty for a truly empty file); raises
    UsageError past PSEUDO_LIMIT."""
    with open(path, "rb") as f:
        data = f.read(PSEUDO_LIMIT + 1)
    if len(data) > PSEUDO_LIMIT:
        raise UsageError(f"{path}: reports size 0 but reads as more than {PSEUDO_LIMIT // 2**20} MB "
                         "(a /proc or /sys file?); copy it to a regular file and send that")
    return data


class _Pseudo:
    """Copies of size-0 files that have content, kept until the Scan is gone."""

    def __init__(self) -> None:
        self.scratch: tempfile.TemporaryDirectory[str] | None = None

    def source(self, path: Path, st: os.stat_result, index: int) -> tuple[Path, os.stat_result]:
        if st.st_size != 0 or not stat.S_ISREG(st.st_mode):
            return path, st
        data = _read_pseudo(path)
        if not data:
            return path, st
        if self.scratch is None:
            self.scratch = tempfile.TemporaryDirectory(prefix="rassist-send-")
        copy = Path(self.scratch.name) / str(index)
        copy.write_bytes(data)
        copy.chmod(stat.S_IMODE(st.st_mode) & 0o777 | 0o600)
        return copy, os.stat_result((*st[:6], len(data), *st[7:10]))


def _entry(relpath: str, st: os.stat_result) -> Entry:
    if stat.S_ISDIR(st.st_mode):
        return Entry(relpath, "dir", 0, stat.S_IMODE(st.st_mode) & 0o777, max(0, int(st.st_mtime)))
    return Entry(relpath, "file", st.st_size, stat.S_IMODE(st.st_mode) & 0o777,
                 max(0, int(st.st_mtime)))


def _inside(path: str, tree: str) -> bool:
    return path == tree or path.startswith(tree.rstrip(os.sep) + os.sep)


def _name_problem(relpath: str) -> str | None:
    try:
        check_relpath(relpath)
    except UnsafePath as exc:
        return str(exc)
    return None


def scan_paths(paths: list[Path]) -> Scan:
    """Blocking: walks the trees. Raises UsageError for a bad command-line path."""
    entries: list[Entry] = []
    sources: dict[int, Path] = {}
    skipped: list[tuple[str, str]] = []
    roots: set[str] = set()
    pseudo = _Pseudo()
    for given in paths:
        absolute = Path(os.path.abspath(given))
        name = absolute.name
        if not name:
            raise UsageError(f"{given}: cannot send the root directory itself")
        try:
            check_relpath(name)
        except UnsafePath as exc:
            raise UsageError(f"{given}: this name cannot be sent: {exc}") from None
        if name in roots:
            raise UsageError(f"{given}: two paths with the same name {name!r}")
        roots.add(name)
        try:
            st = os.stat(absolute)  # follows a symlink named on the command line
        except OSError as exc:
            raise UsageError(f"{given}: {exc.strerror or exc}") from None
        if stat.S_ISREG(st.st_mode):
            try:
                sources[len(entries)], st = pseudo.source(absolute, st, len(entries))
            except OSError as exc:
                raise UsageError(f"{given}: {exc.strerror or exc}") from None
            entries.append(_entry(name, st))
        elif stat.S_ISDIR(st.st_mode):
            entries.append(_entry(name, st))
            _walk(absolute, os.path.realpath(absolute), name, entries, sources, skipped, pseudo)
        else:
            raise UsageError(f"{given}: not a regular file or a directory")
    try:
        manifest = make_manifest(entries)
    except ManifestError as exc:
        raise UsageError(f"cannot send these paths: {exc}") from None
    return Scan(manifest, sources, skipped, pseudo.scratch)


def _walk(folder: Path, tree: str, prefix: str, entries: list[Entry], sources: dict[int, Path],
          skipped: list[tuple[str, str]], pseudo: _Pseudo) -> None:
    try:
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        skipped.append((str(folder), f"cannot list: {exc.strerror or exc}"))
        return
    for child in children:
        local = Path(child.path)
        relpath = f"{prefix}/{child.name}"
        problem = _name_problem(relpath)
        if problem is not None:
            skipped.append((str(local), problem))
            continue
        try:
            if child.is_symlink():
                target = os.path.realpath(local)
                if not os.path.exists(target):
                    skipped.append((str(local), "broken symlink"))
                    continue
                if not _inside(target, tree):
                    skipped.append((str(local), "symlink points outside the tree; not followed"))
                    continue
                st = os.stat(target)
                if not stat.S_ISREG(st.st_mode):
                    skipped.append((str(local), "symlink to a directory or special file; not followed"))
                    continue
                sources[len(entries)], st = pseudo.source(Path(target), st, len(entries))
                entries.append(_entry(relpath, st))
                continue
            st = child.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                source, st = pseudo.source(local, st, len(entries))
        except (OSError, UsageError) as exc:
            skipped.append((str(local), getattr(exc, "strerror", None) or str(exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            entries.append(_entry(relpath, st))
            _walk(local, tree, relpath, entries, sources, skipped, pseudo)
        elif stat.S_ISREG(st.st_mode):
            sources[len(entries)] = source
            entries.append(_entry(relpath, st))
        else:
            skipped.append((str(local), "not a regular file or a directory"))
