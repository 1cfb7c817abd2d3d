"""SPAKE2 over the whole code, then HKDF into one key per purpose.

Both sides use SPAKE2_Symmetric so that neither needs to know who speaks first; the relay sees
only the SPAKE2 messages, which reveal nothing about the code. `spake2` loads with the first
Pake and cryptography with the first key derived: a joiner usually runs SPAKE2 in a process of
its own (crypto/pake_process.py), and starts that before anything else."""

from __future__ import annotations

APP_ID = b"rassist.v1"
SIDE = b"S"         # SPAKE2_Symmetric's side marker, first byte of each message
MESSAGE_SIZE = 33   # the marker and an Ed25519 element


class PakeError(Exception):
    """The peer's SPAKE2 message was malformed."""


def check_shape(inbound: bytes, outbound: bytes) -> None:
    """The peer's message has our side marker and our length (spake2 checks the marker with a
    bare assert: we check it ourselves first)."""
    if inbound[:1] != outbound[:1] or len(inbound) != len(outbound):
        raise PakeError("bad SPAKE2 message: wrong side marker or length")


class Pake:
    def __init__(self, code: str) -> None:
        from spake2 import SPAKE2_Symmetric

        self._spake = SPAKE2_Symmetric(code.encode("utf-8"), idSymmetric=APP_ID)
        self.outbound = self._spake.start()

    def finish(self, inbound: bytes) -> bytes:
        """The shared key; equal on both sides only if both used the same code."""
        from spake2.ed25519_basic import NotOnCurve
        from spake2.spake2 import SPAKEError

        check_shape(inbound, self.outbound)
        try:
            return self._spake.finish(inbound)
        # NotOnCurve is not a SPAKEError: an off-curve point from anyone on the relay must be a
        # failed attempt (nameplate burned, fresh code), never an internal error.
        except (SPAKEError, NotOnCurve, ValueError, TypeError, AssertionError) as exc:
            raise PakeError(f"bad SPAKE2 message: {exc}") from exc


def derive(key: bytes, purpose: str, length: int = 32) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=APP_ID + b"/" + purpose.encode("ascii")).derive(key)
