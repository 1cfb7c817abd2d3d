"""Numbered, acknowledged control messages that survive a change of link, sans I/O.

Chat and control/permission messages must arrive exactly once and in order even when the peer
connection dies and a new one replaces it (protocol/resume.py). Each message travels as

    {"t": "rel", "n": seq, "a": ack, "m": message}     seq counts from 1, per direction
    {"t": "ack", "a": ack}                             ack: every seq up to it was delivered

The sender keeps what is not acknowledged yet and sends it again, in order, on the next link
(pending()); the receiver delivers in order, drops duplicates (and acknowledges them again, so
the sender can let go), and holds a bounded number of early frames. Both buffers are bounded:
a peer that never acknowledges makes send() raise Backlog instead of growing us, and frames
too far ahead are dropped (their sender still holds them and sends them again later).

One Reliable per peer for the whole session, across links. Data channels are ordered and
reliable within one link, so no timers are needed: loss happens only when a link dies.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

MAX_SEQ = 2**53            # JSON-safe integers; a session never gets near
MAX_UNACKED = 512          # messages we hold for the peer
MAX_BYTES = 1 << 20        # bytes we hold for the peer, and bytes of early frames we hold from it
WINDOW = 256               # how far ahead of the next expected frame we keep one


class Backlog(Exception):
    """The peer has not acknowledged enough of what we sent: refuse to hold more."""


class FrameError(ValueError):
    """A frame that breaks the protocol (counted and dropped, like any malformed message)."""


@dataclass
class Received:
    delivered: list[dict[str, Any]] = field(default_factory=list)  # in order, each exactly once
    reply: dict[str, Any] | None = None                             # an ack to send back


def _size(msg: dict[str, Any]) -> int:
    return len(json.dumps(msg, separators=(",", ":")))


def _seq(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < MAX_SEQ


class Reliable:
    def __init__(self, max_unacked: int = MAX_UNACKED, max_bytes: int = MAX_BYTES, window: int = WINDOW) -> None:
        self.max_unacked = max_unacked
        self.max_bytes = max_bytes
        self.window = window
        self.sent = 0          # the last seq we assigned
        self.acked = 0         # the peer's cumulative ack of ours
        self.received = 0      # the last seq we delivered, in order
        self._unacked: OrderedDict[int, tuple[dict[str, Any], int]] = OrderedDict()
        self._unacked_bytes = 0
        self._ahead: dict[int, tuple[dict[str, Any], int]] = {}
        self._ahead_bytes = 0
        self.duplicates = 0    # frames dropped as already delivered
        self.dropped_ahead = 0  # frames dropped as too far ahead (they come again)

    # ------------------------------------------------------------------ sending

    def send(self, msg: dict[str, Any]) -> dict[str, Any]:
        """The frame that carries `msg`; it is kept until the peer acknowledges it."""
        size = _size(msg)
        if len(self._unacked) >= self.max_unacked or self._unacked_bytes + size > self.max_bytes:
            raise Backlog(f"{len(self._unacked)} messages ({self._unacked_bytes} bytes) are still "
                          "unacknowledged by the peer")
        self.sent += 1
        self._unacked[self.sent] = (msg, size)
        self._unacked_bytes += size
        return self._frame(self.sent, msg)

    def pending(self) -> list[dict[str, Any]]:
        """Everything not yet acknowledged, in order, for a new link (with our current ack)."""
        return [self._frame(seq, msg) for seq, (msg, _) in self._unacked.items()]

    def ack_frame(self) -> dict[str, Any]:
        return {"t": "ack", "a": self.received}

    def on_ack(self, ack: int) -> None:
        """The peer has every one of ours up to `ack` (from a frame, or from a resume answer)."""
        if not _seq(ack, 0) or ack > self.sent:
            raise FrameError(f"ack {ack!r} for messages never sent (last sent {self.sent})")
        while self._unacked and next(iter(self._unacked)) <= ack:
            _, (_, size) = self._unacked.popitem(last=False)
            self._unacked_bytes -= size
        self.acked = max(self.acked, ack)

    @property
    def unacked(self) -> int:
        return len(self._unacked)

    # ---------------------------------------------------------------- receiving

    def receive(self, frame: Any) -> Received:
        """A "rel" or "ack" frame from the peer; FrameError if it is malformed."""
        if not isinstance(frame, dict) or frame.get("t") not in ("rel", "ack"):
            raise FrameError('not a "rel" or "ack" frame')
        self.on_ack(frame.get("a"))
        if frame["t"] == "ack":
            return Received()
        seq, msg = frame.get("n"), frame.get("m")
        if not _seq(seq, 1) or not isinstance(msg, dict):
            raise FrameError('a "rel" frame needs a positive "n" and an object "m"')
        out = Received(reply=None)
        if seq <= self.received or seq in self._ahead:
            self.duplicates += 1
        elif seq == self.received + 1:
            out.delivered.append(msg)
            self.received = seq
            while (early := self._ahead.pop(self.received + 1, None)) is not None:
                self._ahead_bytes -= early[1]
                out.delivered.append(early[0])
                self.received += 1
        else:
            size = _size(msg)
            if seq - self.received > self.window or self._ahead_bytes + size > self.max_bytes:
                self.dropped_ahead += 1
            else:
                self._ahead[seq] = (msg, size)
                self._ahead_bytes += size
        out.reply = self.ack_frame()
        return out

    def _frame(self, seq: int, msg: dict[str, Any]) -> dict[str, Any]:
        return {"t": "rel", "n": seq, "a": self.received, "m": msg}
