"""Resuming a rendezvous connection on another node: the fields of its frames, checked.

Client -> server:
    allocate/claim {..., key}               the client's key for later: key = verifier(secret)
    resume {token, secret, key, have, [nameplate], [was]}
Server -> client:
    resumable {token}                       before the reply to an allocate or claim with a key,
                                            from a server that resumes connections (--redis)
    resumed {token, got, state}             state: "open" | "awaiting" | "paired" | "idle"
    error {kind: "resume-refused", message}

A token is the server's name for a connection; it resumes only with the secret whose hash the
client gave beforehand (the server and Redis never hold the secret itself, so a token read from
a log or from Redis is useless), and only once: each resume names the key for the next one and
gets a fresh token. `have` is how many numbered frames (those with an "n") the client has
received: the server replays the later ones. `got` is how many "send" frames the server has
taken from this connection: the client sends the later ones again. `nameplate` and `was` say
what the client believes it holds (a nameplate open or awaited, or a pairing), so that a node
can tell a connection that lost its state from one that merely moved."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEY = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, base64url without padding
STATES = frozenset({"open", "awaiting", "paired", "idle"})
WAS = frozenset({"", "open", "awaiting", "paired"})
MAX_COUNT = 2**53


class ResumeFieldError(ValueError):
    pass


def new_secret() -> str:
    return _b64(secrets.token_bytes(32))


def verifier(secret: str) -> str:
    """What the server keeps of a secret: its SHA-256, base64url."""
    return _b64(hashlib.sha256(secret.encode("ascii")).digest())


def new_token() -> str:
    return secrets.token_urlsafe(18)


def check(msg: dict) -> None:
    """Raise ResumeFieldError if a resume-related frame's fields are malformed."""
    op = msg["op"]
    if op in ("allocate", "claim") and "key" in msg:
        _match(KEY, msg["key"], f"{op}'s key")
    elif op == "resumable":
        _match(TOKEN, msg.get("token"), "resumable's token")
    elif op == "resume":
        _match(TOKEN, msg.get("token"), "resume's token")
        _match(KEY, msg.get("secret"), "resume's secret")
        _match(KEY, msg.get("key"), "resume's key")
        _count(msg.get("have"), "resume's have")
        if "nameplate" in msg and not (isinstance(msg["nameplate"], str)
                                       and re.fullmatch(r"[1-9][0-9]{0,5}", msg["nameplate"])):
            raise ResumeFieldError("resume's nameplate is a number")
        if not isinstance(msg.get("was", ""), str) or msg.get("was", "") not in WAS:
            raise ResumeFieldError("resume's was is open, awaiting, paired or empty")
    elif op == "resumed":
        _match(TOKEN, msg.get("token"), "resumed's token")
        _count(msg.get("got"), "resumed's got")
        if not isinstance(msg.get("state"), str) or msg["state"] not in STATES:
            raise ResumeFieldError("resumed's state is open, awaiting, paired or idle")
    if "n" in msg:
        _count(msg["n"], "a frame's number")


def number(frame: str, n: int) -> str:
    """A JSON object frame with "n": n added in front (frames are encoded without spaces)."""
    return '{"n":%d,%s' % (n, frame[1:])


def _match(pattern: re.Pattern[str], value: object, what: str) -> None:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ResumeFieldError(f"{what} is malformed")


def _count(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_COUNT:
        raise ResumeFieldError(f"{what} is a count")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
