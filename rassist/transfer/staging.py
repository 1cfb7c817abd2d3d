"""The receiver's disk: partial files in a staging area, verified files moved into place.

    TARGET/.rassist-partial-KEY/   one per offer (KEY identifies the manifest)
        lock                       flock: one receiver per offer and directory at a time
        roots.json                 where each top-level name goes (chosen once, kept on resume)
        journal                    one line per finished file: index, sha256, where it went
        N.part                     the bytes of file N received so far

A file appears under its final name only after its SHA-256 matched, by a hard link (which
never replaces an existing name) or, with --overwrite, an atomic rename. Every path is built
from checked components under TARGET, and no existing symlink is ever followed.
All methods block: call them from a worker thread.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from rassist.errors import RassistError
from rassist.protocol.jsonwire import loads
from rassist.protocol.transfer_manifest import Entry, Manifest
from rassist.protocol.transfer_paths import check_relpath, unique_name
from rassist.protocol.transfer_resume import (
    Have,
    ResumeInfo,
    StagingState,
    journal_line,
    parse_journal,
    parse_roots,
)

STAGING_PREFIX = ".rassist-partial-"
HASH_CHUNK = 1 << 20


class TransferError(RassistError):
    """A transfer that cannot go on (unsafe name, no space, damaged data...)."""

    exit_code = 1
    kind = "transfer"

    def __init__(self, message: str, kind: str = "transfer") -> None:
        super().__init__(message)
        self.kind = kind


def disk_error(exc: OSError, what: str) -> TransferError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return TransferError(f"no space left on the device while writing {what}", "disk-full")
    return TransferError(f"cannot write {what}: {exc.strerror or exc}", "disk")


class Staging:
    def __init__(self, target: Path, manifest: Manifest, overwrite: bool = False) -> None:
        self.target = target
        self.manifest = manifest
        self.overwrite = overwrite
        self.dir = target / f"{STAGING_PREFIX}{manifest.key}"
        self.state = StagingState(manifest.key)
        self.prefix_hashes: dict[int, Any] = {}  # index -> hashlib object over the .part bytes
        self._lock_fd = -1
        self._journal: Any = None

    # ---------------------------------------------------------------- setup

    def open(self) -> None:
        try:
            self.target.mkdir(parents=True, exist_ok=True)
            self.dir.mkdir(mode=0o700, exist_ok=True)
            if self.dir.is_symlink() or not self.dir.is_dir():
                raise TransferError(f"{self.dir} is not a directory", "unsafe-name")
            self._lock_fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise disk_error(exc, str(self.dir)) from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise TransferError(f"another receive of this offer is writing into {self.target}") from None
        self.state.roots = parse_roots(self._read_json("roots.json"), self.manifest.key, self.manifest)
        self.state.done = parse_journal(self._read_text("journal"), self.manifest)
        self._choose_roots()
        try:
            self._journal = open(self.dir / "journal", "a", encoding="utf-8")
        except OSError as exc:
            raise disk_error(exc, "the transfer journal") from None

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _read_text(self, name: str) -> str:
        try:
            with open(self.dir / name, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _read_json(self, name: str) -> object:
        try:
            return loads(self._read_text(name) or "null")
        except ValueError:
            return None

    def _choose_roots(self) -> None:
        """A local name per top-level name: the same, or "name (N)" if that is taken."""
        chosen = dict(self.state.roots)
        for root in self.manifest.roots:
            if root in chosen:
                continue
            if self.overwrite:
                chosen[root] = root
                continue
            used = set(chosen.values())
            chosen[root] = unique_name(
                root, lambda n, used=used: n in used or os.path.lexists(self.target / n))
        if chosen != self.state.roots:
            self.state.roots = chosen
            tmp = self.dir / "roots.json.tmp"
            try:
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump(self.state.roots_json(), f, ensure_ascii=False)
                os.replace(tmp, self.dir / "roots.json")
            except OSError as exc:
                raise disk_error(exc, "the transfer state") from None

    def free_space_needed(self, info: ResumeInfo) -> int:
        need = 0
        for index, entry in self.manifest.files:
            if index not in info.done:
                have = info.have.get(index)
                need += entry.size - (have.offset if have else 0)
        return need

    def check_space(self, info: ResumeInfo) -> None:
        """Refuse before writing the first byte if the files clearly cannot fit."""
        need = self.free_space_needed(info)
        try:
            vfs = os.statvfs(self.dir)
        except OSError:
            return
        free = vfs.f_bavail * vfs.f_frsize
        if need > free:
            raise TransferError(
                f"not enough space in {self.target}: {need} bytes needed, {free} free", "disk-full")

    # ---------------------------------------------------------------- resume

    def part(self, index: int) -> Path:
        return self.dir / f"{index}.part"

    def resume_info(self) -> ResumeInfo:
        """What an earlier run left: finished files (put in place now if a crash interrupted
        that), and partial files with the digest of their bytes."""
        have: dict[int, Have] = {}
        done: dict[int, str] = {}
        for index, entry in self.manifest.files:
            part = self.part(index)
            if index in self.state.done:
                digest, path = self.state.done[index]
                if os.path.lexists(part):
                    self._recover(index, digest, path)
                done[index] = digest
                continue
            try:
                st = os.lstat(part)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise disk_error(exc, str(part)) from None
            if not stat.S_ISREG(st.st_mode) or st.st_size > entry.size:
                self._remove(part)
                continue
            hasher = hashlib.sha256()
            with open(part, "rb") as f:
                while chunk := f.read(HASH_CHUNK):
                    hasher.update(chunk)
            self.prefix_hashes[index] = hasher
            have[index] = Have(st.st_size, hasher.hexdigest())
        return ResumeInfo(have, done)

    def _remove(self, path: Path) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise disk_error(exc, str(path)) from None

    # ---------------------------------------------------------------- writing

    def open_part(self, index: int, offset: int) -> tuple[Any, Any]:
        """The .part file positioned at offset, and the hash of what precedes it."""
        part = self.part(index)
        try:
            if offset == 0:
                fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                self.prefix_hashes.pop(index, None)
                return os.fdopen(fd, "wb"), hashlib.sha256()
            hasher = self.prefix_hashes.pop(index)
            fd = os.open(part, os.O_WRONLY | os.O_NOFOLLOW)
            f = os.fdopen(fd, "wb")
            f.truncate(offset)
            f.seek(offset)
            return f, hasher
        except OSError as exc:
            raise disk_error(exc, str(part)) from None

    def place(self, index: int, digest: str) -> Path:
        """Move a verified .part to its final name; returns where it went."""
        entry = self.manifest.entries[index]
        part = self.part(index)
        try:
            os.chmod(part, _file_mode(entry.mode))
            os.utime(part, (entry.mtime, entry.mtime))
        except OSError as exc:
            raise disk_error(exc, str(part)) from None
        return self._put(index, digest, "/".join(self._local_parts(entry)))

    def _put(self, index: int, digest: str, relpath: str) -> Path:
        """Journal first, then link the .part in (never replacing a name), or with --overwrite
        rename it over the old file. A name taken meanwhile makes us pick "name (N)"."""
        parts = check_relpath(relpath)
        parent = self._ensure_dirs(parts[:-1])
        part = self.part(index)
        while True:
            name = parts[-1]
            if not self.overwrite:
                name = unique_name(name, lambda n: os.path.lexists(parent / n))
            dest = parent / name
            self._log(index, digest, "/".join((*parts[:-1], name)))
            try:
                if self.overwrite:
                    if os.path.isdir(dest) and not os.path.islink(dest):
                        raise TransferError(f"{dest} is a directory; not replaced by a file",
                                            "unsafe-name")
                    os.replace(part, dest)
                    return dest
                os.link(part, dest)
            except FileExistsError:
                continue  # lost a race for the name
            except OSError as exc:
                no_links = exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV)
                if no_links and not os.path.lexists(dest):
                    try:
                        os.rename(part, dest)  # no hard links on this file system
                    except OSError as again:
                        raise disk_error(again, str(dest)) from None
                    return dest
                raise disk_error(exc, str(dest)) from None
            self._remove(part)
            return dest

    def _recover(self, index: int, digest: str, relpath: str) -> None:
        """A crash came between the journal line and the end of the move: finish it."""
        parts = check_relpath(relpath)
        dest = self._ensure_dirs(parts[:-1]) / parts[-1]
        part = self.part(index)
        if os.path.lexists(dest) and not os.path.islink(dest) and os.path.samefile(part, dest):
            self._remove(part)  # linked already; only the unlink was missing
            return
        self._put(index, digest, relpath)

    def _log(self, index: int, digest: str, relpath: str) -> None:
        self.state.done[index] = (digest, relpath)
        if self._journal is None:
            return
        try:
            self._journal.write(journal_line(index, digest, relpath))
            self._journal.flush()
        except OSError as exc:
            raise disk_error(exc, "the transfer journal") from None

    def _local_parts(self, entry: Entry) -> tuple[str, ...]:
        parts = check_relpath(entry.path)
        return (self.state.roots[parts[0]], *parts[1:])

    def _ensure_dirs(self, parts: tuple[str, ...]) -> Path:
        """TARGET/parts..., creating real directories and refusing symlinks or files."""
        current = self.target
        for part in parts:
            current = current / part
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                try:
                    os.mkdir(current, 0o700)
                except FileExistsError:
                    st = os.lstat(current)
                except OSError as exc:
                    raise disk_error(exc, str(current)) from None
                else:
                    continue
            if not stat.S_ISDIR(st.st_mode):
                kind = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a directory"
                raise TransferError(f"{current} is {kind}; nothing is written through it",
                                    "unsafe-name")
        return current

    # ---------------------------------------------------------------- the end

    def finish_dirs(self) -> None:
        """Every directory of the manifest exists (empty ones too), with its mode and mtime;
        deepest first, so a read-only directory is closed only once its contents are in."""
        dirs = [entry for entry in self.manifest.entries if not entry.is_file]
        for entry in dirs:
            self._ensure_dirs(self._local_parts(entry))
        for entry in sorted(dirs, key=lambda e: -len(e.parts)):
            path = self.target.joinpath(*self._local_parts(entry))
            try:
                os.chmod(path, _dir_mode(entry.mode))
                os.utime(path, (entry.mtime, entry.mtime))
            except OSError as exc:
                raise disk_error(exc, str(path)) from None

    def final_path(self, entry: Entry) -> Path:
        return self.target.joinpath(*self._local_parts(entry))

    def remove(self) -> None:
        """The transfer is complete: drop the staging area."""
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def discard_part(self, index: int) -> None:
        """After a digest mismatch: the next run starts that file again."""
        self.prefix_hashes.pop(index, None)
        self._remove(self.part(index))


_UMASK = os.umask(0)
os.umask(_UMASK)


def _file_mode(mode: int) -> int:
    # Keep the sender's permission bits (executable ones above all), never set-id or sticky,
    # and always readable and writable by the owner, within this user's umask.
    return ((mode & 0o777) | 0o600) & ~_UMASK


def _dir_mode(mode: int) -> int:
    return ((mode & 0o777) | 0o700) & ~_UMASK
