"""From a code to a connected Session: rendezvous, SPAKE2, sealed signalling, WebRTC.

This module drives the pure state machine in protocol/pairing.py with real I/O. The host
prepares its peer connection and offer while it waits, so a joiner connects in one pass."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from rassist.errors import AuthError, ConnectionLost, DeclinedError, TimedOut, Unreachable, UsageError
from rassist.protocol import pairing as sm
from rassist.protocol.codes import Code, make_code, parse_code
from rassist.rendezvous.client import PeerGone, RendezvousClient
from rassist.session import Emit, Feature, Session
from rassist.transport.peer import Peer

T = TypeVar("T")
Approver = Callable[[sm.PeerHello], Awaitable[tuple[str, ...] | None]]


@dataclass
class Options:
    name: str
    server: str | None = None
    timeout: float = 20.0
    features: list[Feature] = field(default_factory=list)
    peer_timeout: float = 8.0
    relay_only: bool = False


@dataclass
class HostOptions(Options):
    code: str | None = None
    code_length: int = 2
    once: bool = False


@dataclass
class JoinOptions(Options):
    wants: tuple[str, ...] = ("view",)
    approval_timeout: float = 300.0


class _Relay:
    """The sealed-signalling side of a rendezvous connection, with a deadline per message."""

    def __init__(self, client: RendezvousClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def recv(self, timeout: float | None = None, waiting_for: str = "the peer") -> bytes:
        limit = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(self.client.receive(), limit)
        except TimeoutError:
            raise TimedOut(f"no answer from {waiting_for} within {limit:g} s") from None

    async def act(self, actions: list[sm.Action]) -> list[sm.Action]:
        """Send what must be sent; return the rest; raise on failure."""
        rest = []
        for action in actions:
            if isinstance(action, sm.Send):
                await self.client.send(action.body)
            elif isinstance(action, sm.Failed):
                raise AuthError(action.reason)
            elif isinstance(action, sm.Declined):
                raise DeclinedError(action.reason)
            else:
                rest.append(action)
        return rest


async def _listening(relay: _Relay, pairing: sm.Pairing, work: Awaitable[T], hangup_ends_it: bool) -> T:
    """Await `work` while listening to the relay. The peer has nothing to say meanwhile, so a
    sealed message is its abort (it found ours tampered with) or a violation: both fail us too.
    A hang-up of the relay ends the wait only if `hangup_ends_it`."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(relay.client.receive())
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        if watch.exception() is None:
            await relay.act(pairing.receive(watch.result()))
            raise AuthError("the peer sent a signalling message out of turn")
        if hangup_ends_it:
            raise watch.exception()
        return await task
    finally:
        task.cancel()
        watch.cancel()


async def _connect(urls: list[str], timeout: float) -> RendezvousClient:
    error: Unreachable | None = None
    for url in urls:
        try:
            return await RendezvousClient.connect(url, timeout)
        except Unreachable as exc:
            error = exc
    raise error or Unreachable("no rendezvous server to connect to")


def _prepare(peer: Peer, features: list[Feature], role: str) -> None:
    for feature in features:
        feature.prepare(peer.pc, role)


async def _make_offer(opts: Options, ice: list[dict]) -> tuple[Peer, str]:
    peer = Peer(ice, opts.relay_only)
    _prepare(peer, opts.features, "host")
    return peer, await peer.offer()


async def _ice_servers(client: RendezvousClient, opts: Options) -> list[dict]:
    servers = await client.turn_servers()
    if opts.relay_only and not servers:
        raise UsageError("--relay-only needs a rendezvous server that hands out TURN credentials "
                         "(rassist server --turn URL --turn-secret ...)")
    return servers


class Host:
    """Hands out codes until a joiner pairs (or, with `once`, until the first attempt ends)."""

    def __init__(self, opts: HostOptions, emit: Emit, approve: Approver) -> None:
        self.opts = opts
        self.emit = emit
        self.approve = approve
        self._embedded = None

    async def run(self) -> Session:
        client = await self._rendezvous()
        preset: Code | None = None
        if self.opts.code:
            try:
                preset = parse_code(self.opts.code)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        try:
            ice = await _ice_servers(client, self.opts)
            prepared = asyncio.ensure_future(_make_offer(self.opts, ice))
            while True:
                nameplate = await client.allocate(preset.nameplate if preset else None)
                code = preset or make_code(nameplate, self.opts.code_length)
                preset = None  # a code is good for one attempt only
                if self._embedded is not None:
                    await self._embedded.announce.publish(nameplate)
                self.emit("code", code=str(code))
                self.emit("waiting", **{"for": "joiner"})
                try:
                    await client.wait_joined()
                    peer, offer = await prepared
                    return await self._pair(_Relay(client, self.opts.timeout), code, peer, offer)
                except (AuthError, DeclinedError, PeerGone, TimedOut) as exc:
                    if isinstance(exc, PeerGone):
                        exc = ConnectionLost("the joiner left before pairing finished")
                    self.emit("error", kind=exc.kind, message=exc.message)
                    if prepared.done():  # its offer may have gone out: never reuse it
                        with contextlib.suppress(Exception):
                            await (await prepared)[0].close()
                        prepared = asyncio.ensure_future(_make_offer(self.opts, ice))
                    if self.opts.once:
                        raise exc from None
        finally:
            with contextlib.suppress(Exception):
                await client.close()
            await self.stop_embedded()

    async def _pair(self, relay: _Relay, code: Code, peer: Peer, offer: str) -> Session:
        pairing = sm.Pairing("host", str(code), self.opts.name)
        hello = None
        while hello is None:
            for action in await relay.act(pairing.receive(await relay.recv(waiting_for="the joiner"))):
                if isinstance(action, sm.PeerHello):
                    hello = action
        self.emit("request", peer=hello.name, wants=list(hello.wants))
        # Stop asking if the joiner leaves or aborts while the host makes up its mind.
        granted = await _listening(relay, pairing, self.approve(hello), hangup_ends_it=True)
        if granted is None:
            await relay.act(pairing.decide(None))
            raise DeclinedError(f"declined {hello.name}")
        await relay.act(pairing.decide(granted) + pairing.offer(offer))
        for action in await relay.act(pairing.receive(await relay.recv(waiting_for="the joiner"))):
            if isinstance(action, sm.Sdp):
                await peer.accept(action.sdp)
        # The peer or the server may hang up once signalling is done: only ICE matters now.
        await _listening(relay, pairing, peer.wait_open(self.opts.timeout), hangup_ends_it=False)
        return Session("host", peer, hello.name, set(granted), self.emit, self.opts.features,
                       self.opts.peer_timeout)

    async def _rendezvous(self) -> RendezvousClient:
        if self.opts.server:
            return await _connect([self.opts.server], self.opts.timeout)
        from rassist.rendezvous.embedded import Embedded

        self._embedded = await Embedded.start()
        return await _connect([self._embedded.url], self.opts.timeout)

    async def stop_embedded(self) -> None:
        if self._embedded is not None:
            await self._embedded.stop()
            self._embedded = None


async def _find_host(code: Code, timeout: float) -> RendezvousClient:
    """The embedded server of the host with this nameplate: this machine first, then the LAN."""
    from rassist.rendezvous import local

    with contextlib.suppress(Unreachable):
        return await _connect(local.same_machine(code.nameplate), min(timeout, 2.0))
    urls = await local.on_lan(code.nameplate, min(timeout, 5.0))
    if not urls and local.anyone_on_this_machine():
        # Someone is waiting here, with another code: this one is wrong, or was burned by a
        # wrong guess (the host then issued a fresh one). That is the wrong-code exit, 3.
        raise AuthError(f"nobody is waiting for code {code.nameplate}-... any more: the code is wrong "
                        "or was used already (a wrong guess burns a code); ask for the new code")
    if not urls:
        raise Unreachable(f"nobody with code {code.nameplate}-... found on this machine or the LAN; "
                          "check the code, or use --server URL / RASSIST_SERVER")
    return await _connect(urls, timeout)


async def join(code_text: str, opts: JoinOptions, emit: Emit) -> Session:
    try:
        code = parse_code(code_text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    client = await (_connect([opts.server], opts.timeout) if opts.server else _find_host(code, opts.timeout))
    relay = _Relay(client, opts.timeout)
    try:
        await client.claim(code.nameplate)
        ice = await _ice_servers(client, opts)
        pairing = sm.Pairing("join", str(code), opts.name, opts.wants)
        await relay.act(pairing.start())
        host_name, granted, peer = "host", (), None
        while peer is None:
            waiting = pairing.state is sm.State.AWAIT_DECISION
            if waiting:
                emit("waiting", **{"for": "approval"})
            body = await relay.recv(opts.approval_timeout if waiting else None,
                                    "the host (approval)" if waiting else "the host")
            for action in await relay.act(pairing.receive(body)):
                if isinstance(action, sm.PeerHello):
                    host_name = action.name
                elif isinstance(action, sm.Decided):
                    granted = action.granted
                elif isinstance(action, sm.Sdp):
                    peer = Peer(ice, opts.relay_only)
                    _prepare(peer, opts.features, "join")
                    await relay.act(pairing.answer(await peer.answer(action.sdp)))
        await _listening(relay, pairing, peer.wait_open(opts.timeout), hangup_ends_it=False)
    except PeerGone:
        raise ConnectionLost("the host left before pairing finished") from None
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    return Session("join", peer, host_name, set(granted), emit, opts.features, opts.peer_timeout)
