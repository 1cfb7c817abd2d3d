"""Resuming a session over a fresh peer connection, through the rendezvous, within a window.

aiortc has no ICE restart (aiortc#211): when a path dies for longer than ICE survives, the
session needs a new RTCPeerConnection. `reconnect` gets one without a new code or approval:
both sides meet at the mailbox of the next generation (protocol/resume.py; the server sees
only an opaque id), the host sends a sealed offer, the joiner a sealed answer, and ICE, DTLS
and SCTP come up as at pairing (the DTLS fingerprints travel sealed, so the rendezvous still
cannot sit in the middle). Failures (server unreachable, nobody came, a refused or replayed
message, ICE failure) are retried with backoff until the window ends: then ConnectionLost
(exit 6).

The embedded default rendezvous (no --server). The host runs the server in-process
(rendezvous/embedded.py) and the joiner found it by nameplate (rendezvous/local.find_host). For resume
the host must keep that server running for the whole session (today it stops it once paired),
and each side passes `urls` as a callable that is asked again on every attempt:
- the joiner: the URL it paired through first, then this machine's registry and the LAN
  (rendezvous/local.py) under crypto.resume.lan_name(secret) instead of the nameplate (the host
  announces that name once paired; the nameplate must not be announced again);
- the host: its own embedded server's loopback URL.
A host whose address changed on the same LAN (DHCP, a second interface) is found again through
that announcement: the server listens on 0.0.0.0, so the new address answers. A host that moved
to another network (Wi-Fi to cellular) cannot be reached by the joiner at all through an
embedded server: resume across networks needs a rendezvous both can reach (--server or
RASSIST_SERVER); the window then expires with exit 6 and a message that says so.

With a configured server (or several, or a cluster on Redis) both sides simply pass its URL(s).
With several URLs each meet waits at most MEET_SLICE before the next one is tried, so two sides
that started on different servers still overlap on one.

What the session (one participant per peer) does around it:
- at pairing: keeps ResumeState(resume_secret(pairing key), role) and one ReliableLink
  (transport/reliable_link.py); chat and control/permission messages go through the link
  (heartbeats and input events do not: stale input after a gap must not be replayed);
- on a drop (the peer connection failed or closed, or the heartbeat went silent): emits
  `reconnecting`, releases every held key and button (host) and stops sending input (viewer),
  detaches the link, stops the features' per-link work, closes the old peer, then calls
  reconnect(state, urls, prepare=lambda peer: each feature.prepare(peer.pc, role),
  ack=link.ack, granted=what the joiner holds (host), window=the resume window,
  on_attempt=lambda left, last: emit("reconnecting", seconds_left=..., ...));
- on Resumed: swaps in the new peer, a new MessageChannel with its handlers,
  link.attach(ctl, peer_ack=resumed.peer_ack), restarts the features on the new connection
  (a joiner takes resumed.granted: the host is authoritative), emits `reconnected`; a file
  transfer that broke re-offers under the same key and continues from the receiver's verified
  prefix (protocol/transfer_resume.py), checked by its SHA-256 as before;
- on ConnectionLost (the window is over, the same on both sides): ends with exit 6.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rassist.crypto.resume import lan_name
from rassist.errors import AuthError, ConnectionLost, RassistError
from rassist.protocol.resume import Handshake, PeerSdp, Refused, ResumeState, Send
from rassist.rendezvous.client import PeerGone, RendezvousClient
from rassist.transport.peer import Peer

log = logging.getLogger("rassist.reconnect")
RESUME_WINDOW = 120.0   # seconds, the default resume window
STEP = 15.0             # one step of an attempt: the peer's sealed message, ICE + DTLS + SCTP
MEET_SLICE = 30.0       # with several rendezvous URLs: the longest wait at one before the next
BACKOFF = (0.5, 1.0, 2.0, 4.0)

Urls = Sequence[str] | Callable[[], Awaitable[Sequence[str]]]
Prepare = Callable[[Peer], None]


@dataclass
class Resumed:
    """A connected peer (its control channel open) for the session to carry on with."""

    peer: Peer
    generation: int
    peer_ack: int                   # the peer's cumulative ack of our reliable messages
    granted: tuple[str, ...]        # joiner: what the host says it may do; host: what it offered
    url: str                        # the rendezvous the two met at


class _Refused(Exception):
    pass


async def reconnect(state: ResumeState, urls: Urls, prepare: Prepare, *, ack: int = 0,
                    granted: tuple[str, ...] = (), ice_servers: list[dict[str, Any]] | None = None,
                    window: float = RESUME_WINDOW, relay_only: bool = False,
                    on_attempt: Callable[[float, str | None], None] | None = None) -> Resumed:
    """Meet the peer again and return a new connected Peer, or raise ConnectionLost when
    `window` seconds have passed. `ice_servers` None asks the rendezvous for fresh ones (TURN
    credentials are short-lived). `prepare(peer)` adds what the session's features need to the
    new peer connection before its offer or answer. `on_attempt(seconds_left, last_error)` is
    called before every attempt (the session's `reconnecting` event)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    last: str | None = None
    attempt = 0
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise ConnectionLost(f"could not resume the session within {window:g} s"
                                 + (f" (last attempt: {last})" if last else ""))
        if on_attempt is not None:
            on_attempt(left, last)
        try:
            candidates = list(await urls()) if callable(urls) else list(urls)
        except (OSError, RassistError) as exc:  # finding the server failed this time: try again
            candidates, last = [], _describe(exc)
        slice_ = min(left, MEET_SLICE) if len(candidates) > 1 else left
        for url in candidates:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                return await asyncio.wait_for(
                    _attempt(state, url, prepare, ack, granted, ice_servers, relay_only, min(slice_, left)), left)
            except (RassistError, PeerGone, _Refused, TimeoutError, OSError) as exc:
                last = _describe(exc)
                log.info("resume attempt at %s failed: %s", url, last)
        await asyncio.sleep(max(0.0, min(BACKOFF[min(attempt, len(BACKOFF) - 1)], deadline - loop.time())))
        attempt += 1


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PeerGone):
        return "the peer left the mailbox"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


async def _attempt(state: ResumeState, url: str, prepare: Prepare, ack: int, granted: tuple[str, ...],
                   ice_servers: list[dict[str, Any]] | None, relay_only: bool, wait: float) -> Resumed:
    if state.role == "host":
        client = await RendezvousClient.connect(url, min(wait, 10.0))
        try:
            handshake = state.handshake(state.generations()[0])
            await client.meet(handshake.mailbox, wait)
            return await _offer(client, handshake, url, prepare, ack, granted, ice_servers, relay_only)
        finally:
            with contextlib.suppress(Exception):
                await client.close()
    client, handshake = await _meet_any(state, url, wait)
    try:
        return await _answer(client, handshake, url, prepare, ack, ice_servers, relay_only)
    finally:
        with contextlib.suppress(Exception):
            await client.close()


async def _meet_any(state: ResumeState, url: str, wait: float) -> tuple[RendezvousClient, Handshake]:
    """Joiner: wait at every mailbox the host may use (protocol/resume.py); the first met wins."""
    async def one(generation: int) -> tuple[RendezvousClient, Handshake]:
        client = await RendezvousClient.connect(url, min(wait, 10.0))
        try:
            handshake = state.handshake(generation)
            await client.meet(handshake.mailbox, wait)
        except BaseException:
            with contextlib.suppress(Exception):
                await client.close()
            raise
        return client, handshake

    tasks = [asyncio.ensure_future(one(g)) for g in state.generations()]
    winner: asyncio.Task[tuple[RendezvousClient, Handshake]] | None = None
    try:
        pending = set(tasks)
        error: BaseException | None = None
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is None and winner is None:
                    winner = task
                elif task.exception() is not None:
                    error = task.exception()
        if winner is None:
            assert error is not None
            raise error
        return winner.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:  # another mailbox met too, but not chosen: leave it
            if task is not winner and not task.cancelled() and task.exception() is None:
                with contextlib.suppress(Exception):
                    await task.result()[0].close()


async def _offer(client: RendezvousClient, handshake: Handshake, url: str, prepare: Prepare, ack: int,
                 granted: tuple[str, ...], ice_servers: list[dict[str, Any]] | None, relay_only: bool) -> Resumed:
    servers = ice_servers if ice_servers is not None else await client.turn_servers()
    peer = Peer(servers, relay_only)
    try:
        prepare(peer)
        await _send(client, handshake.offer(await peer.offer(), ack, granted))
        answer = _sdp(handshake.receive(await asyncio.wait_for(client.receive(), STEP)))
        await peer.accept(answer.sdp)
        await peer.wait_open(STEP)
    except BaseException:
        await peer.close()
        raise
    return Resumed(peer, handshake.generation, answer.ack, granted, url)


async def _answer(client: RendezvousClient, handshake: Handshake, url: str, prepare: Prepare, ack: int,
                  ice_servers: list[dict[str, Any]] | None, relay_only: bool) -> Resumed:
    offer = _sdp(handshake.receive(await asyncio.wait_for(client.receive(), STEP)))
    servers = ice_servers if ice_servers is not None else await client.turn_servers()
    peer = Peer(servers, relay_only)
    try:
        prepare(peer)
        await _send(client, handshake.answer(await peer.answer(offer.sdp), ack))
        await peer.wait_open(STEP)
    except BaseException:
        await peer.close()
        raise
    return Resumed(peer, handshake.generation, offer.ack, offer.granted, url)


def _sdp(actions: list[Any]) -> PeerSdp:
    for action in actions:
        if isinstance(action, Refused):
            raise _Refused(action.reason)
        if isinstance(action, PeerSdp):
            return action
    raise AuthError("resume handshake gave no session description")


async def _send(client: RendezvousClient, actions: list[Any]) -> None:
    for action in actions:
        if isinstance(action, Send):
            await client.send(action.body)


def embedded_urls(secret: bytes, known: Sequence[str], lan_wait: float = 1.5) -> Callable[[], Awaitable[list[str]]]:
    """The joiner's `urls` with no --server: the host's embedded server as announced now on
    this machine and the LAN under lan_name(secret) (its address may have changed), then the
    URL(s) it paired through. Asked again on every attempt."""
    name = lan_name(secret)

    async def find() -> list[str]:
        from rassist.rendezvous import local

        urls = local.same_machine(name)
        with contextlib.suppress(Exception):  # no multicast here: this machine and `known` still work
            urls += await local.on_lan(name, lan_wait)
        return list(dict.fromkeys([*urls, *known]))

    return find
