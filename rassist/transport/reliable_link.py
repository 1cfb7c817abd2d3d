"""Reliable control messages (protocol/reliable.py) over whichever control channel is current.

One ReliableLink per peer for the whole session. attach() it to each new link's MessageChannel
(after a resume, with the peer's ack from the sealed resume message): what the peer has not
acknowledged is sent again, in order, before anything new. detach() when the link drops:
send() then only keeps messages (up to the bounds of Reliable) until the next attach().
Received messages are handed to `deliver` in order, each exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rassist.protocol.reliable import FrameError, Reliable
from rassist.transport.channel import MessageChannel

log = logging.getLogger("rassist.reliable")


class ReliableLink:
    def __init__(self, deliver: Callable[[dict[str, Any]], None], reliable: Reliable | None = None) -> None:
        self.reliable = reliable or Reliable()
        self._deliver = deliver
        self._channel: MessageChannel | None = None
        self.rejected = 0

    @property
    def ack(self) -> int:
        """Our cumulative ack of the peer's messages: goes into the sealed resume offer/answer."""
        return self.reliable.received

    def attach(self, channel: MessageChannel, peer_ack: int | None = None) -> None:
        """Use `channel` from now on (register before channel.start()); `peer_ack` is what the
        peer said it has, so that only the rest is sent again."""
        if peer_ack is not None:
            try:
                self.reliable.on_ack(peer_ack)
            except FrameError as exc:
                self.rejected += 1
                log.warning("peer's resume ack refused: %s", exc)
        channel.on("rel", self._on_frame)
        channel.on("ack", self._on_frame)
        self._channel = channel
        for frame in self.reliable.pending():
            channel.send(frame)

    def detach(self) -> None:
        self._channel = None

    def send(self, msg: dict[str, Any]) -> None:
        """Send `msg` (a JSON object) reliably; Backlog if the peer has left too much unacknowledged."""
        frame = self.reliable.send(msg)
        if self._channel is not None:
            self._channel.send(frame)

    def _on_frame(self, frame: dict[str, Any]) -> None:
        try:
            got = self.reliable.receive(frame)
        except FrameError as exc:
            self.rejected += 1
            log.debug("dropped a reliable frame: %s", exc)
            return
        for msg in got.delivered:
            self._deliver(msg)
        if got.reply is not None and self._channel is not None:
            self._channel.send(got.reply)
