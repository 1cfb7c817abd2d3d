"""Resume bookkeeping: what the receiver already holds, and what still has to travel.

The receiver keeps, per offer key, a staging area with one partial file per manifest
index and a small state record (where each top-level name was placed, which files are
finished). On a new run it tells the sender, for each partial file, how many bytes it has
and the SHA-256 of those bytes. The sender hashes the same prefix of its own file: if the
digests agree it continues from there, otherwise it starts that file again. So a file that
changed, or a partial file damaged by a crash, can never be stitched into a wrong result.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rassist.protocol.jsonwire import loads
from rassist.protocol.transfer_manifest import Manifest
from rassist.protocol.transfer_paths import UnsafePath, check_component, is_safe_relpath

_HEX64 = re.compile(r"[0-9a-f]{64}")
_INDEX = re.compile(r"[0-9]{1,9}")


class ResumeError(ValueError):
    """A RESUME message or a state record that does not fit the manifest."""


@dataclass(frozen=True)
class Have:
    offset: int
    prefix_sha256: str


@dataclass(frozen=True)
class ResumeInfo:
    """Receiver -> sender: partial files (index -> Have), finished files (index -> sha256)."""

    have: dict[int, Have] = field(default_factory=dict)
    done: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "have": {str(i): [h.offset, h.prefix_sha256] for i, h in sorted(self.have.items())},
            "done": {str(i): digest for i, digest in sorted(self.done.items())},
        }


def parse_resume(obj: dict[str, Any], manifest: Manifest) -> ResumeInfo:
    """Check a RESUME body against the manifest the sender itself sent."""
    have_raw, done_raw = obj.get("have", {}), obj.get("done", {})
    if not isinstance(have_raw, dict) or not isinstance(done_raw, dict):
        raise ResumeError("RESUME must have 'have' and 'done' objects")
    entries = manifest.entries

    def file_index(value: object) -> int:
        if isinstance(value, str) and _INDEX.fullmatch(value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ResumeError("a file index must be an integer")
        if not 0 <= value < len(entries) or not entries[value].is_file:
            raise ResumeError(f"{value} is not a file of this offer")
        return value

    have: dict[int, Have] = {}
    for key, value in have_raw.items():
        index = file_index(key)
        if not isinstance(value, list) or len(value) != 2:
            raise ResumeError("a 'have' item must be [offset, sha256]")
        offset, digest = value
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise ResumeError("an offset must be an integer")
        if not 0 <= offset <= entries[index].size:
            raise ResumeError(f"offset {offset} is outside file {index}")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise ResumeError("a prefix digest must be 64 lowercase hex digits")
        have[index] = Have(offset, digest)
    done: dict[int, str] = {}
    for key, digest in done_raw.items():
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise ResumeError("a digest must be 64 lowercase hex digits")
        done[file_index(key)] = digest
    if done.keys() & have.keys():
        raise ResumeError("a file cannot be both partial and finished")
    return ResumeInfo(have, done)


def start_offset(have: Have | None, own_prefix_sha256: str | None) -> int:
    """Where the sender starts a file: after the receiver's prefix if the digests agree."""
    if have is None or have.offset == 0 or own_prefix_sha256 != have.prefix_sha256:
        return 0
    return have.offset


def bytes_to_send(manifest: Manifest, info: ResumeInfo) -> int:
    """Upper bound of what still travels (exact when every prefix matches)."""
    total = 0
    for index, entry in manifest.files:
        if index in info.done:
            continue
        have = info.have.get(index)
        total += entry.size - (have.offset if have else 0)
    return total


@dataclass
class StagingState:
    """The receiver's own record in its staging area (local, but still checked when read):
    where each top-level name goes, and a journal of finished files (index -> sha256, path)."""

    key: str
    roots: dict[str, str] = field(default_factory=dict)  # sent top-level name -> local name
    done: dict[int, tuple[str, str]] = field(default_factory=dict)

    def roots_json(self) -> dict[str, Any]:
        return {"v": 1, "key": self.key, "roots": self.roots}


def parse_roots(obj: object, key: str, manifest: Manifest) -> dict[str, str]:
    """The top-level name mapping of an earlier run, or {} if the record does not fit."""
    if not isinstance(obj, dict) or obj.get("v") != 1 or obj.get("key") != key:
        return {}
    roots_raw = obj.get("roots")
    if not isinstance(roots_raw, dict):
        return {}
    sent_roots = set(manifest.roots)
    roots: dict[str, str] = {}
    try:
        for sent, local in roots_raw.items():
            if sent not in sent_roots or not isinstance(local, str):
                return {}
            roots[sent] = check_component(local)
    except UnsafePath:
        return {}
    return roots


def journal_line(index: int, digest: str, path: str) -> str:
    return json.dumps({"i": index, "sha256": digest, "path": path}, ensure_ascii=False) + "\n"


def parse_journal(text: str, manifest: Manifest) -> dict[int, tuple[str, str]]:
    """Finished files from the journal; later lines win, damaged lines are ignored."""
    done: dict[int, tuple[str, str]] = {}
    for line in text.splitlines():
        try:
            obj = loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if not isinstance(obj, dict):
            continue
        index, digest, path = obj.get("i"), obj.get("sha256"), obj.get("path")
        if (
            not isinstance(index, int)
            or isinstance(index, bool)
            or not 0 <= index < len(manifest.entries)
            or not manifest.entries[index].is_file
            or not isinstance(digest, str)
            or not _HEX64.fullmatch(digest)
            or not is_safe_relpath(path)
        ):
            continue
        done[index] = (digest, path)
    return done
