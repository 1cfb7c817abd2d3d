"""One participant's way back after its link dropped (issue 18): the session goes on over a
fresh peer connection, with no new code and no new approval, within the resume window.

transport/reconnect.py finds the peer again through the rendezvous; this module does the
session's part around it, in order:
- `reconnecting` (with the seconds left), then every feature's link_lost() (the host's
  HostControl releases held keys and buttons at once; a viewer stops sending input);
- the heartbeat stops and control messages are kept (transport/ctl.py), the old peer closes;
- reconnect(), each feature prepared again on the new peer connection (the screen track
  added anew: its first frame is a keyframe);
- the new link in place (the joiner takes the permissions the host's sealed offer names),
  every feature's relink() (a file transfer the drop cut is offered again and continues from
  the receiver's verified prefix), then control messages the peer missed go again, none
  twice; the heartbeat again, `reconnected`.
ConnectionLost when the window is over: the caller ends that participant (exit 6)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rassist.protocol.resume import ResumeState

if TYPE_CHECKING:
    from rassist.participant import Participant
    from rassist.transport.peer import Peer

log = logging.getLogger("rassist.resuming")
NOTICE_EVERY = 5.0  # seconds between `reconnecting` events while the attempts go on

Urls = Sequence[str] | Callable[[], Awaitable[Sequence[str]]]


@dataclass
class ResumeConfig:
    state: ResumeState
    urls: Urls
    window: float
    relay_only: bool = False


def config(pairing_key: bytes | None, role: str, urls: Urls, window: float,
           relay_only: bool) -> ResumeConfig | None:
    """What a participant needs to resume, from its pairing key; None when resume is off."""
    if pairing_key is None or window <= 0:
        return None
    from rassist.crypto.resume import resume_secret

    return ResumeConfig(ResumeState(resume_secret(pairing_key), "host" if role == "host" else "join"),
                        urls, window, relay_only)


async def _each(features: Sequence[Any], hook: str, *args: Any) -> None:
    for feature in features:
        method = getattr(feature, hook, None)
        if method is None:
            continue
        try:
            await method(*args)
        except Exception:  # noqa: BLE001 - one feature's trouble must not stop the resume
            log.warning("%s.%s failed", type(feature).__name__, hook, exc_info=True)


async def resume(p: Participant, cfg: ResumeConfig, why: str) -> None:
    """Bring `p` back on a new link, or raise ConnectionLost once the window is over."""
    from rassist.participant import Link
    from rassist.transport.reconnect import reconnect

    p.reconnecting = True
    p.closing = True  # the old connection going down is no news any more
    p.emit("reconnecting", peer=p.peer_name, seconds_left=round(cfg.window), message=why)
    p.pause()
    await _each(p.features, "link_lost")
    with contextlib.suppress(Exception):
        await p.link.close()
    last_notice = time.monotonic()

    def prepare(peer: Peer) -> None:
        for feature in p.features:
            feature.prepare(peer.pc, p.role)

    def on_attempt(left: float, last: str | None) -> None:
        nonlocal last_notice
        if time.monotonic() - last_notice >= NOTICE_EVERY:
            last_notice = time.monotonic()
            p.emit("reconnecting", peer=p.peer_name, seconds_left=round(left), **({"message": last} if last else {}))

    try:
        resumed = await reconnect(cfg.state, cfg.urls, prepare, ack=p.ctl.link.ack,
                                  granted=tuple(sorted(p.granted)) if p.role == "host" else (),
                                  window=cfg.window, relay_only=cfg.relay_only, on_attempt=on_attempt)
    finally:
        p.reconnecting = False
    if p.role != "host":  # the host is authoritative: what it says we hold, we hold
        p.granted.intersection_update(resumed.granted)
        p.granted.update(resumed.granted)
    p.swap_link(Link(resumed.peer))
    await _each(p.features, "relink", p)
    p.attach_ctl(resumed.peer_ack)
    p.restart()
    p.emit("reconnected", peer=p.peer_name, route=resumed.peer.route(), generation=resumed.generation)
