"""The manifest: what a transfer contains, checked before anything touches the disk.

Entries are files and directories with relative "/"-separated paths (a directory entry
exists for every directory of the tree, so empty ones travel too), sizes, permission bits
and modification times. Digests are not in the manifest: the sender hashes while it
streams and sends each file's SHA-256 after its bytes, which saves a second read.
The manifest key identifies the same offer across runs and is what resume hangs on.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from rassist.protocol.jsonwire import loads
from rassist.protocol.transfer_paths import UnsafePath, check_relpath

MAX_ENTRIES = 1_000_000
MAX_FILE_SIZE = 1 << 50  # 1 PiB: plenty, and exact in JSON numbers
MAX_MTIME = 1 << 40
EntryKind = Literal["file", "dir"]


class ManifestError(ValueError):
    """A manifest that breaks the rules (bad names, sizes, duplicates...)."""


@dataclass(frozen=True)
class Entry:
    path: str
    kind: EntryKind
    size: int = 0
    mode: int = 0o644
    mtime: int = 0

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("/"))

    def to_json(self) -> list[Any]:
        # Compact rows: manifests of large trees stay small on the wire.
        return [self.path, self.kind, self.size, self.mode, self.mtime]


@dataclass(frozen=True)
class Manifest:
    entries: tuple[Entry, ...]
    _key: str = field(default="", compare=False, repr=False)

    @property
    def files(self) -> list[tuple[int, Entry]]:
        return [(index, entry) for index, entry in enumerate(self.entries) if entry.is_file]

    @property
    def file_count(self) -> int:
        return sum(1 for entry in self.entries if entry.is_file)

    @property
    def dir_count(self) -> int:
        return sum(1 for entry in self.entries if not entry.is_file)

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.entries)

    @property
    def roots(self) -> list[str]:
        """Top-level names, in manifest order."""
        seen: dict[str, None] = {}
        for entry in self.entries:
            seen.setdefault(entry.parts[0], None)
        return list(seen)

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "entries": [entry.to_json() for entry in self.entries]}

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()

    @property
    def key(self) -> str:
        """Stable identity of this exact content description (hex, 32 chars)."""
        return self._key or hashlib.sha256(self.encode()).hexdigest()[:32]


def _int_in(value: object, low: int, high: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ManifestError(f"{what} must be an integer in [{low}, {high}]")
    return value


def parse_entry(row: object) -> Entry:
    if not isinstance(row, list) or len(row) != 5:
        raise ManifestError("a manifest entry must be [path, kind, size, mode, mtime]")
    path, kind, size, mode, mtime = row
    try:
        check_relpath(path)
    except UnsafePath as exc:
        raise ManifestError(f"unsafe name: {exc}") from None
    if kind not in ("file", "dir"):
        raise ManifestError(f"unknown entry kind {kind!r}")
    size = _int_in(size, 0, MAX_FILE_SIZE, "size")
    if kind == "dir" and size != 0:
        raise ManifestError("a directory has no size")
    return Entry(
        path=path,
        kind=kind,
        size=size,
        mode=_int_in(mode, 0, 0o7777, "mode"),
        mtime=_int_in(mtime, 0, MAX_MTIME, "mtime"),
    )


def check_entries(entries: tuple[Entry, ...]) -> None:
    """Duplicates, and names nested under a file, are refused."""
    kinds: dict[str, EntryKind] = {}
    for entry in entries:
        if entry.path in kinds:
            raise ManifestError(f"duplicate name {entry.path!r}")
        kinds[entry.path] = entry.kind
    for entry in entries:
        parts = entry.parts
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if kinds.get(parent) == "file":
                raise ManifestError(f"{entry.path!r} is inside the file {parent!r}")


def make_manifest(entries: list[Entry]) -> Manifest:
    built = tuple(entries)
    if len(built) > MAX_ENTRIES:
        raise ManifestError(f"more than {MAX_ENTRIES} entries")
    for entry in built:
        parse_entry(entry.to_json())
    check_entries(built)
    return Manifest(built)


def decode_manifest(data: bytes) -> Manifest:
    """Parse and check a manifest received from the peer."""
    try:
        obj = loads(data)
    except ValueError as exc:
        raise ManifestError(f"manifest is not JSON: {exc}") from None
    if not isinstance(obj, dict) or obj.get("v") != 1 or not isinstance(obj.get("entries"), list):
        raise ManifestError("manifest must be {\"v\": 1, \"entries\": [...]}")
    rows = obj["entries"]
    if len(rows) > MAX_ENTRIES:
        raise ManifestError(f"more than {MAX_ENTRIES} entries")
    entries = tuple(parse_entry(row) for row in rows)
    check_entries(entries)
    # The key is over the bytes as sent, so both sides agree on it.
    return Manifest(entries, hashlib.sha256(data).hexdigest()[:32])
