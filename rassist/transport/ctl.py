"""A participant's control messages across every link it has had (issue 18: resume).

Features register their handlers once (ctl.on) and send with ctl.send, whichever peer
connection is current. Everything but heartbeats goes through the reliable layer
(transport/reliable_link.py): numbered and acknowledged, kept while the link is down and sent
again after a resume, delivered exactly once and in order. Heartbeats (ping/pong) stay off it:
they speak for the link of the moment only. Input events travel on their own channel, never here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rassist.protocol.reliable import Backlog
from rassist.transport.channel import Dispatch, Handler, MessageChannel
from rassist.transport.reliable_link import ReliableLink

log = logging.getLogger("rassist.ctl")
RAW = frozenset({"ping", "pong"})


class Ctl:
    def __init__(self, channel: MessageChannel) -> None:
        self._dispatch = Dispatch("ctl")
        self.on_any: Callable[[], None] | None = None
        self.link = ReliableLink(deliver=self._dispatch)
        self.lost = 0  # messages refused because the peer left too much unacknowledged
        self.channel: MessageChannel | None = None
        self._bind(channel, None)

    @property
    def dc(self) -> Any:
        assert self.channel is not None
        return self.channel.dc

    def on(self, kind: str, handler: Handler) -> None:
        self._dispatch.on(kind, handler)
        if self.channel is not None:
            self.channel.on(kind, self._dispatch)

    def start(self) -> None:
        """Begin dispatching on the current channel (once the features' handlers are in)."""
        if self.channel is not None:
            self.channel.start()

    def attach(self, channel: MessageChannel, peer_ack: int | None) -> None:
        """A new link after a resume: what the peer has not acknowledged goes again, then new."""
        self._bind(channel, peer_ack)
        channel.start()

    def detach(self) -> None:
        """The link dropped: messages are kept (up to the reliable layer's bounds) until attach()."""
        self.link.detach()
        self.channel = None

    @property
    def unacked(self) -> int:
        """Messages sent that the peer has not acknowledged yet."""
        return self.link.reliable.unacked

    def send(self, msg: dict[str, Any]) -> None:
        if msg.get("t") in RAW:
            if self.channel is not None:
                self.channel.send(msg)
            return
        try:
            self.link.send(msg)
        except Backlog as exc:  # the peer has been silent for long: bounded memory wins
            self.lost += 1
            log.warning("control message %r not sent: %s", msg.get("t"), exc)

    def _bind(self, channel: MessageChannel, peer_ack: int | None) -> None:
        # A message that comes bare (not numbered) is handled as it is: the channel is the
        # authenticated peer's; numbering only adds "once, in order, across links".
        for kind in {*RAW, *self._dispatch.handlers}:
            channel.on(kind, self._dispatch)
        channel.on_any = self._heard
        self.channel = channel
        self.link.attach(channel, peer_ack)

    def _heard(self) -> None:
        if self.on_any is not None:
            self.on_any()
