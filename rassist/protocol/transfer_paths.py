"""Safe handling of file names that come from the peer.

No name from the peer is trusted: a path is accepted only in one canonical form, relative,
"/"-separated, without "." or ".." components, control characters, backslashes or drive
letters, and within length limits. The receiver then joins the checked components under
its target directory, so nothing can land outside it.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_COMPONENT_BYTES = 255  # NAME_MAX on Linux and most file systems
MAX_PATH_BYTES = 4000  # stay below PATH_MAX once joined under a target directory
MAX_DEPTH = 256
# Names that would collide with the receiver's own staging area.
RESERVED_PREFIX = ".rassist-"
_DRIVE = re.compile(r"^[A-Za-z]:")
# Suffix that unique_name() puts before the extension: "report (2).pdf".
_COUNTER = re.compile(r"^(?P<stem>.*) \((?P<n>[0-9]+)\)$")
MAX_UNIQUE_TRIES = 10_000


class UnsafePath(ValueError):
    """A peer-supplied name that must not be used on disk."""


def check_component(part: str) -> str:
    """Return one path component if it is safe on its own, or raise UnsafePath."""
    if part in ("", ".", ".."):
        raise UnsafePath(f"path component {part!r} is not allowed")
    if "/" in part or "\\" in part:
        raise UnsafePath(f"path component {part!r} contains a separator")
    for char in part:
        # Cc covers NUL, C0, DEL and C1 (terminal escapes such as ESC and CSI).
        if unicodedata.category(char) == "Cc":
            raise UnsafePath(f"path component {part!r} contains a control character")
    _check_size(part, "path component", MAX_COMPONENT_BYTES)
    return part


def _check_size(text: str, what: str, limit: int) -> None:
    """Encoded UTF-8 length, which is what a file system limits (lone surrogates fail here)."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise UnsafePath(f"{what} {text!r} is not valid Unicode") from None
    if size > limit:
        raise UnsafePath(f"{what} is longer than {limit} bytes")


def check_relpath(name: object) -> tuple[str, ...]:
    """Split a peer-supplied relative path into safe components, or raise UnsafePath."""
    if not isinstance(name, str):
        raise UnsafePath("a path must be a string")
    if name == "":
        raise UnsafePath("empty path")
    _check_size(name, "path", MAX_PATH_BYTES)
    if name.startswith("/"):
        raise UnsafePath(f"absolute path {name!r} is not allowed")
    if "\\" in name:
        raise UnsafePath(f"path {name!r} contains a backslash")
    if _DRIVE.match(name):
        raise UnsafePath(f"path {name!r} starts with a drive letter")
    parts = name.split("/")
    if len(parts) > MAX_DEPTH:
        raise UnsafePath(f"path is deeper than {MAX_DEPTH} levels")
    for part in parts:
        check_component(part)
    if parts[0].startswith(RESERVED_PREFIX):
        raise UnsafePath(f"names starting with {RESERVED_PREFIX!r} are reserved")
    return tuple(parts)


def is_safe_relpath(name: object) -> bool:
    try:
        check_relpath(name)
    except UnsafePath:
        return False
    return True


def _truncate_utf8(text: str, limit: int) -> str:
    """The longest prefix of text whose UTF-8 encoding fits in limit bytes."""
    encoded = text.encode("utf-8")[:limit]
    return encoded.decode("utf-8", errors="ignore")


def numbered_name(name: str, number: int) -> str:
    """"report.pdf" -> "report (2).pdf"; keeps the result within MAX_COMPONENT_BYTES."""
    dot = name.rfind(".")
    if dot > 0:
        stem, ext = name[:dot], name[dot:]
    else:
        stem, ext = name, ""
    if len(ext.encode("utf-8")) > 32:  # not a real extension, keep it in the stem
        stem, ext = name, ""
    match = _COUNTER.match(stem)
    if match:
        stem = match.group("stem")
    suffix = f" ({number}){ext}"
    room = MAX_COMPONENT_BYTES - len(suffix.encode("utf-8"))
    stem = _truncate_utf8(stem, room) or "_"
    return check_component(stem + suffix)


def unique_name(name: str, taken: Callable[[str], bool]) -> str:
    """name itself if it is free, else the first free "name (N)"."""
    check_component(name)
    if not taken(name):
        return name
    for number in range(1, MAX_UNIQUE_TRIES + 1):
        candidate = numbered_name(name, number)
        if not taken(candidate):
            return candidate
    raise UnsafePath(f"no free name found for {name!r}")
