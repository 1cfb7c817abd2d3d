"""The rendezvous wire format: one JSON object per websocket text frame, keyed by "op".

Client -> server: allocate [nameplate], claim {nameplate, [wait], [body]}, meet {mailbox}, send
{body}, ping, turn; resume, and a key on allocate or claim (rendezvous_resume.py: moving a
connection to another node of a cluster).
Server -> client: allocated {nameplate}, waiting (a claim with wait: no host yet; a meet: first
at its mailbox), claimed [took], joined, met (the second side of a mailbox arrived), message {body},
peer-gone, pong,
turn {servers: [{urls, username, credential}]}, error {kind, message}. Bodies are base64 of sealed or SPAKE2 bytes: the server never sees
anything it could read.

A claim's body is the joiner's first message (its SPAKE2 message), sent with the claim to save a
round trip: when the claim pairs at once, the server passes it to the host right after "joined"
(not as one of the joiner's numbered sends) and says so ("claimed" with took: true); a claim
that waits drops it, and the joiner sends it once claimed. A server that does not know the
field ignores it and never says took.

A mailbox is where two sides of a session meet again to resume it (protocol/resume.py): 64
lowercase hex digits derived from their secret, new for every attempt's generation, so the
server learns nothing it could link to a nameplate or to another resume."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from rassist.protocol import rendezvous_resume
from rassist.protocol.jsonwire import loads

MAX_FRAME = 64 * 1024
NAMEPLATE = re.compile(r"[1-9][0-9]{0,5}")
MAILBOX = re.compile(r"[0-9a-f]{64}")
CLIENT_OPS = frozenset({"allocate", "claim", "meet", "send", "ping", "turn", "resume"})


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
        msg = loads(frame)
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
    if msg["op"] == "claim" and not isinstance(msg.get("body", ""), str):
        raise WireError("claim's body is a string")
    if msg["op"] == "allocate" and "nameplate" in msg and not _is_nameplate(msg["nameplate"]):
        raise WireError("allocate takes an optional nameplate (a number)")
    if msg["op"] == "meet" and not is_mailbox(msg.get("mailbox")):
        raise WireError("meet needs a mailbox (64 lowercase hex digits)")
    if msg["op"] == "allocated" and not _is_nameplate(msg.get("nameplate")):
        raise WireError("allocated needs a nameplate (a number)")
    if msg["op"] in ("send", "message"):
        body = msg.get("body")
        if not isinstance(body, str):
            raise WireError(f"{msg['op']} needs a body string")
    try:
        rendezvous_resume.check(msg)
    except rendezvous_resume.ResumeFieldError as exc:
        raise WireError(str(exc)) from None
    return msg


def _is_nameplate(value: object) -> bool:
    return isinstance(value, str) and NAMEPLATE.fullmatch(value) is not None


def is_mailbox(value: object) -> bool:
    return isinstance(value, str) and MAILBOX.fullmatch(value) is not None


def pack_body(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unpack_body(body: str) -> bytes:
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise WireError("body is not base64") from None


MAX_ICE_SERVERS = 8
MAX_CREDENTIAL = 512
# What aiortc accepts, narrowed: a host name or IPv4 address, a port, a transport for TURN.
_ICE_URL = re.compile(r"(?:(?P<stun>stuns?)|turns?):[A-Za-z0-9.-]{1,253}(?::(?P<port>[0-9]{1,5}))?"
                      r"(?(stun)|(?:\?transport=(?:udp|tcp))?)")


def ice_servers(value: object) -> list[dict[str, Any]]:
    """The `servers` of a "turn" answer, keeping only well-formed entries: a malicious server
    must not be able to make the peer connection raise. Entries are {urls, username, credential}
    (credentials required for TURN)."""
    if not isinstance(value, list):
        return []
    kept = []
    for entry in value[:MAX_ICE_SERVERS]:
        if not isinstance(entry, dict) or not isinstance(entry.get("urls"), list):
            continue
        urls = [u for u in entry["urls"][:MAX_ICE_SERVERS] if isinstance(u, str) and _good_url(u)]
        username, credential = entry.get("username"), entry.get("credential")
        has_credentials = all(isinstance(c, str) and 0 < len(c) <= MAX_CREDENTIAL and c.isprintable()
                              for c in (username, credential))
        if not has_credentials:
            urls = [u for u in urls if u.startswith("stun")]
        if urls:
            kept.append({"urls": urls, **({"username": username, "credential": credential}
                                          if has_credentials else {})})
    return kept


def _good_url(url: str) -> bool:
    match = _ICE_URL.fullmatch(url)
    return match is not None and (match["port"] is None or 0 < int(match["port"]) < 65536)
