"""The SPAKE2 worker's side (crypto/pake_process.py starts it and explains why): one code, one
exchange, then out. Imports only what SPAKE2 needs: it has to be ready before the joiner's
claim goes out."""

from __future__ import annotations

import os
import sys

from rassist.crypto.pake import Pake, PakeError


def frame(data: bytes) -> bytes:
    """One message either way: its length (4 bytes, big-endian), then it."""
    return len(data).to_bytes(4, "big") + data


def serve() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def read() -> bytes:
        size = stdin.read(4)
        if len(size) < 4:
            os._exit(0)  # the joiner went away
        return stdin.read(int.from_bytes(size, "big"))

    def write(data: bytes) -> None:
        stdout.write(frame(data))
        stdout.flush()

    pake = Pake(read().decode("utf-8"))
    write(pake.outbound)
    inbound = read()
    try:
        write(b"K" + pake.finish(inbound))
    except PakeError as exc:
        write(b"E" + str(exc).encode("utf-8")[:1000])
    os._exit(0)  # nothing to tidy: no interpreter shutdown to wait for
