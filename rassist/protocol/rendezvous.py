"""The rendezvous wire format: one JSON object per websocket text frame, keyed by "op".

Client -> server: allocate [nameplate], claim {nameplate, [wait]}, send {body}, ping, turn.
Server -> client: allocated {nameplate}, waiting (a claim with wait: no host yet), claimed,
joined, message {body}, peer-gone, pong,
turn {servers: [{urls, username, credential}]}, error {kind, message}. Bodies are base64 of sealed or SPAKE2 bytes: the server never sees
anything it could read."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

MAX_FRAME = 64 * 1024
NAMEPLATE = re.compile(r"[1-9][0-9]{0,5}")
CLIENT_OPS = frozenset({"allocate", "claim", "send", "ping", "turn"})


class WireError(ValueError):
    """A frame that breaks the protocol; the server drops the connection that sent it."""


def encode(op: str, **fields: Any) -> str:
    return json.dumps({"op": op, **fields}, separators=(",", ":"))


def decode(frame: str | bytes, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    if isinstance(frame, bytes):
        raise WireError("binary frames are not part of the protocol")
    if len(frame) > MAX_FRAME:
        raise WireError("frame too large")
    try:
        msg = json.loads(frame)
    except ValueError:
        raise WireError("frame is not JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
        raise WireError('frame is not an object with an "op"')
    if allowed is not None and msg["op"] not in allowed:
        raise WireError(f"unknown op {msg['op'][:40]!r}")
    if msg["op"] == "claim" and not _is_nameplate(msg.get("nameplate")):
        raise WireError("claim needs a nameplate (a number)")
    if msg["op"] == "claim" and not isinstance(msg.get("wait", False), bool):
        raise WireError("claim's wait is true or false")
    if msg["op"] == "allocate" and "nameplate" in msg and not _is_nameplate(msg["nameplate"]):
        raise WireError("allocate takes an optional nameplate (a number)")
    if msg["op"] in ("send", "message"):
        body = msg.get("body")
        if not isinstance(body, str):
            raise WireError(f"{msg['op']} needs a body string")
    return msg


def _is_nameplate(value: object) -> bool:
    return isinstance(value, str) and NAMEPLATE.fullmatch(value) is not None


def pack_body(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unpack_body(body: str) -> bytes:
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise WireError("body is not base64") from None
