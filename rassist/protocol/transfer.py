"""File transfer control messages on the "ctl" channel (pure: dicts in, checked objects out).

    {"t": "file-offer", "id", "key", "files", "dirs", "total", "names", "more", "text", "lane"}
    {"t": "file-accept", "id", "lane": {"cert": PEM} | null}
    {"t": "file-decline", "id", "reason"}
    {"t": "file-cancel", "id", "reason"}

The offer announces the count and the total size before anything is written; the full
manifest follows on the bulk stream (see transfer_frames) and must match it. "lane"
carries the sender's TLS certificate and listening addresses for the fast lane; since the
ctl channel is itself authenticated through the PAKE'd signalling, pinning the
certificates exchanged here binds the TCP connection to this session.
"""
from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Any

from rassist.protocol.transfer_kinds import ACCEPT, CANCEL, DECLINE, OFFER
from rassist.protocol.transfer_manifest import MAX_ENTRIES, MAX_FILE_SIZE, Manifest
from rassist.protocol.transfer_paths import UnsafePath, check_relpath
MAX_NAMES = 20  # top-level names shown in an offer; the rest are counted in "more"
MAX_TEXT = 64 * 1024
MAX_ADDRS = 16
MAX_CERT = 8192
MAX_REASON = 500
_ID = re.compile(r"[0-9a-f]{16}")
_KEY = re.compile(r"[0-9a-f]{32}")


class ProtocolError(ValueError):
    """A control message that does not follow the rules."""


@dataclass(frozen=True)
class LaneOffer:
    cert_pem: str
    addrs: tuple[tuple[str, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {"cert": self.cert_pem, "addrs": [list(addr) for addr in self.addrs]}


@dataclass(frozen=True)
class Offer:
    id: str
    key: str
    files: int
    dirs: int
    total: int
    names: tuple[str, ...]
    more: int = 0
    text: str | None = None
    lane: LaneOffer | None = None

    @property
    def is_text(self) -> bool:
        return self.text is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "t": OFFER, "id": self.id, "key": self.key, "files": self.files, "dirs": self.dirs,
            "total": self.total, "names": list(self.names), "more": self.more,
            "text": self.text, "lane": self.lane.to_json() if self.lane else None,
        }

    def matches(self, manifest: Manifest) -> bool:
        """The manifest that arrives on the bulk stream is the one that was offered."""
        roots = manifest.roots
        return (
            manifest.key == self.key
            and manifest.file_count == self.files
            and manifest.dir_count == self.dirs
            and manifest.total_size == self.total
            and tuple(roots[:MAX_NAMES]) == self.names
            and max(0, len(roots) - MAX_NAMES) == self.more
        )


@dataclass(frozen=True)
class Accept:
    id: str
    cert_pem: str | None


@dataclass(frozen=True)
class Decline:
    id: str
    reason: str


@dataclass(frozen=True)
class Cancel:
    id: str
    reason: str


def new_offer_id() -> str:
    return secrets.token_hex(8)


def offer_for(
    manifest: Manifest, offer_id: str, lane: LaneOffer | None = None
) -> Offer:
    roots = manifest.roots
    return Offer(
        id=offer_id, key=manifest.key, files=manifest.file_count, dirs=manifest.dir_count,
        total=manifest.total_size, names=tuple(roots[:MAX_NAMES]),
        more=max(0, len(roots) - MAX_NAMES), lane=lane,
    )


def text_offer(text: str, offer_id: str) -> Offer:
    if len(text) > MAX_TEXT:
        raise ProtocolError(f"a text snippet is limited to {MAX_TEXT} characters")
    return Offer(id=offer_id, key="0" * 32, files=0, dirs=0, total=len(text.encode()),
                 names=(), text=text)


def accept_message(offer_id: str, cert_pem: str | None) -> dict[str, Any]:
    return {"t": ACCEPT, "id": offer_id, "lane": {"cert": cert_pem} if cert_pem else None}


def decline_message(offer_id: str, reason: str = "declined") -> dict[str, Any]:
    return {"t": DECLINE, "id": offer_id, "reason": reason[:MAX_REASON]}


def cancel_message(offer_id: str, reason: str = "cancelled") -> dict[str, Any]:
    return {"t": CANCEL, "id": offer_id, "reason": reason[:MAX_REASON]}


def _offer_id(msg: dict[str, Any]) -> str:
    value = msg.get("id")
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ProtocolError("an offer id must be 16 lowercase hex digits")
    return value


def _count(msg: dict[str, Any], name: str, high: int) -> int:
    value = msg.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise ProtocolError(f"{name!r} must be an integer in [0, {high}]")
    return value


def _cert(value: object) -> str:
    if (
        not isinstance(value, str)
        or len(value) > MAX_CERT
        or not value.startswith("-----BEGIN CERTIFICATE-----")
    ):
        raise ProtocolError("a lane certificate must be one PEM certificate")
    return value


def _addr(value: object) -> tuple[str, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ProtocolError("a lane address must be [ip, port]")
    host, port = value
    # Only IP literals: the peer must not make us resolve names or reach odd schemes.
    try:
        ipaddress.ip_address(host if isinstance(host, str) else "")
    except ValueError:
        raise ProtocolError(f"{host!r} is not an IP address") from None
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ProtocolError(f"{port!r} is not a port")
    return host, port


def parse_lane_offer(value: object) -> LaneOffer | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError("'lane' must be an object or null")
    addrs = value.get("addrs")
    if not isinstance(addrs, list) or len(addrs) > MAX_ADDRS:
        raise ProtocolError(f"'addrs' must be a list of at most {MAX_ADDRS} addresses")
    return LaneOffer(_cert(value.get("cert")), tuple(_addr(addr) for addr in addrs))


def _root_name(name: object) -> str:
    try:
        parts = check_relpath(name)
    except UnsafePath as exc:
        raise ProtocolError(f"unsafe name in offer: {exc}") from None
    if len(parts) != 1:
        raise ProtocolError("offered names are top-level names")
    return parts[0]


def parse_offer(msg: dict[str, Any]) -> Offer:
    offer_id = _offer_id(msg)
    key = msg.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ProtocolError("an offer key must be 32 lowercase hex digits")
    names_raw = msg.get("names")
    if not isinstance(names_raw, list) or len(names_raw) > MAX_NAMES:
        raise ProtocolError(f"'names' must be a list of at most {MAX_NAMES} names")
    names = tuple(_root_name(name) for name in names_raw)
    text = msg.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        raise ProtocolError(f"'text' must be a string of at most {MAX_TEXT} characters")
    offer = Offer(
        id=offer_id, key=key,
        files=_count(msg, "files", MAX_ENTRIES), dirs=_count(msg, "dirs", MAX_ENTRIES),
        total=_count(msg, "total", MAX_FILE_SIZE * 64), names=names,
        more=_count(msg, "more", MAX_ENTRIES), text=text, lane=parse_lane_offer(msg.get("lane")),
    )
    if text is None and (offer.files + offer.dirs == 0 or not names):
        raise ProtocolError("an offer must contain something")
    if text is not None and (offer.files or offer.dirs or names or offer.lane):
        raise ProtocolError("a text offer carries no files")
    if offer.more and len(names) != MAX_NAMES:
        raise ProtocolError("'more' counts names only past the first list")
    return offer


def parse_accept(msg: dict[str, Any]) -> Accept:
    lane = msg.get("lane")
    if lane is not None and not isinstance(lane, dict):
        raise ProtocolError("'lane' must be an object or null")
    return Accept(_offer_id(msg), _cert(lane.get("cert")) if lane else None)


def _reason(msg: dict[str, Any]) -> str:
    reason = msg.get("reason", "")
    if not isinstance(reason, str):
        raise ProtocolError("'reason' must be a string")
    return "".join(ch if ch.isprintable() else " " for ch in reason[:MAX_REASON])


def parse_decline(msg: dict[str, Any]) -> Decline:
    return Decline(_offer_id(msg), _reason(msg))


def parse_cancel(msg: dict[str, Any]) -> Cancel:
    return Cancel(_offer_id(msg), _reason(msg))
