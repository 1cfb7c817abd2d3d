"""Keys for resuming a session: everything derived from the pairing key with HKDF.

    secret            = HKDF(pairing key, "resume secret")           kept by both sides for the session
    mailbox(n)        = hex HKDF(secret, "resume mailbox/n")          where the two meet for generation n
    key(n, direction) = HKDF(secret, "resume seal/n/host->join")      one AEAD key per generation and direction

The rendezvous sees only mailbox ids: 64 hex digits, different for every generation and for
every pairing, so it cannot link a resume to the nameplate that started the session or to an
earlier resume. Sealed messages carry a random nonce (a generation may be retried, so the same
key may seal more than one message) and the generation and direction as associated data, so a
message cannot be moved to another generation or reflected back to its sender."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from rassist.crypto.pake import derive

NONCE = 12
TAG = 16
MAX_GENERATION = 2**31  # far beyond any session's resumes; keeps labels short and bounded
ROLES = ("host", "join")


class ResumeSealError(Exception):
    """A sealed resume message that is forged, damaged, for another generation or reflected."""


def resume_secret(pairing_key: bytes) -> bytes:
    """The secret both sides keep for the session; the pairing key itself is never reused."""
    return derive(pairing_key, "resume secret")


def _check(generation: int) -> None:
    if isinstance(generation, bool) or not isinstance(generation, int) or not 0 <= generation < MAX_GENERATION:
        raise ValueError(f"generation must be an integer in [0, {MAX_GENERATION}), not {generation!r}")


def mailbox_id(secret: bytes, generation: int) -> str:
    """The opaque rendezvous mailbox of `generation`: 64 lowercase hex digits."""
    _check(generation)
    return derive(secret, f"resume mailbox/{generation}").hex()


def lan_name(secret: bytes) -> str:
    """A name an embedded host can announce on this machine and the LAN after its address
    changed (instead of the nameplate, which it must not reveal again): 16 hex digits."""
    return derive(secret, "resume lan name", 8).hex()


def _aead(secret: bytes, generation: int, sender: str) -> tuple[ChaCha20Poly1305, bytes]:
    _check(generation)
    if sender not in ROLES:
        raise ValueError(f"sender must be host or join, not {sender!r}")
    direction = "host->join" if sender == "host" else "join->host"
    label = f"resume seal/{generation}/{direction}"
    return ChaCha20Poly1305(derive(secret, label)), label.encode("ascii")


def seal(secret: bytes, generation: int, sender: str, plaintext: bytes) -> bytes:
    """nonce || ciphertext+tag, for the peer of `sender` in `generation`."""
    aead, aad = _aead(secret, generation, sender)
    nonce = os.urandom(NONCE)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def open_sealed(secret: bytes, generation: int, sender: str, blob: bytes) -> bytes:
    """The plaintext `sender` sealed for `generation`; ResumeSealError otherwise."""
    if len(blob) < NONCE + TAG:
        raise ResumeSealError("sealed resume message too short")
    aead, aad = _aead(secret, generation, sender)
    try:
        return aead.decrypt(blob[:NONCE], blob[NONCE:], aad)
    except InvalidTag:
        raise ResumeSealError("resume message failed authentication (wrong secret, generation "
                              "or direction, or tampered with)") from None
