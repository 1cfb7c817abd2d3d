"""Sealing of signalling messages: ChaCha20-Poly1305, one key per direction, counter nonces.

The nonce is the message number. The opener accepts only the next number it expects, so a
replayed, reordered or dropped message fails exactly like a forged one: the pairing aborts."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from rassist.crypto.pake import derive

HOST_TO_JOIN = "seal host->join"
JOIN_TO_HOST = "seal join->host"
_COUNTER = 8


class SealError(Exception):
    """A sealed message failed authentication or arrived out of order."""


def _nonce(number: int) -> bytes:
    return bytes(4) + number.to_bytes(_COUNTER, "big")


class _Direction:
    """One direction's key, associated data and message counter."""

    def __init__(self, key: bytes, direction: str) -> None:
        self._aead = ChaCha20Poly1305(derive(key, direction))
        self._aad = direction.encode("ascii")
        self._next = 0


class Sealer(_Direction):
    def seal(self, plaintext: bytes) -> bytes:
        number = self._next
        self._next += 1
        return number.to_bytes(_COUNTER, "big") + self._aead.encrypt(_nonce(number), plaintext, self._aad)


class Opener(_Direction):
    def open(self, sealed: bytes) -> bytes:
        if len(sealed) < _COUNTER + 16:
            raise SealError("sealed message too short")
        number = int.from_bytes(sealed[:_COUNTER], "big")
        if number != self._next:
            raise SealError(f"sealed message number {number}, expected {self._next} (replayed or reordered)")
        try:
            plaintext = self._aead.decrypt(_nonce(number), sealed[_COUNTER:], self._aad)
        except InvalidTag:
            raise SealError("sealed message failed authentication") from None
        self._next += 1
        return plaintext


def channel(key: bytes, role: str) -> tuple[Sealer, Opener]:
    """The (sealer, opener) pair for `role` ("host" or "join")."""
    if role == "host":
        return Sealer(key, HOST_TO_JOIN), Opener(key, JOIN_TO_HOST)
    return Sealer(key, JOIN_TO_HOST), Opener(key, HOST_TO_JOIN)
