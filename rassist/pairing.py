"""From a code to a connected Session: rendezvous, SPAKE2, sealed signalling, WebRTC.

This module drives the pure state machine in protocol/pairing.py with real I/O. The host
prepares its peer connection and offer while it waits, so a joiner connects in one pass."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from rassist.errors import (
    AuthError,
    ConnectionLost,
    DeclinedError,
    RassistError,
    TimedOut,
    UsageError,
)
from rassist.protocol import pairing as sm
from rassist.protocol.codes import Code, make_code, parse_code
from rassist.rendezvous.client import PeerGone, RendezvousClient, connect_any
from rassist.session import Emit, Feature, Session
from rassist.transport import preload

if TYPE_CHECKING:  # WebRTC loads while the network is busy, after a code is printed
    from rassist.crypto.pake_process import PakeProcess
    from rassist.transport.peer import Peer

T = TypeVar("T")
Approver = Callable[[sm.PeerHello], Awaitable[tuple[str, ...] | None]]
# What a connected Session imports (its participant's link, control channel and resume): a
# joiner loads them on a worker thread once its answer is out, while ICE and DTLS come up.
SESSION_MODULES = ("rassist.transport.channel", "rassist.transport.ctl", "rassist.transport.reliable_link",
                   "rassist.resuming", "rassist.crypto.resume", "rassist.transport.reconnect")
# send/receive: talks "direct" messages over the sealed channel; a result ends the pairing
# there (no WebRTC at all), None goes on to WebRTC. See rassist/transfer/direct.py.
DirectHook = Callable[["DirectLink"], Awaitable[Any]]


@dataclass
class Options:
    name: str
    server: str | None = None
    timeout: float = 20.0
    features: list[Feature] = field(default_factory=list)
    peer_timeout: float = 8.0
    relay_only: bool = False
    direct: DirectHook | None = None
    resume_window: float = 120.0  # seconds a dropped link may take to come back; 0: never resumes


@dataclass
class DirectDone:
    """What the direct hook returned: the work is done without a WebRTC session."""
    result: Any


@dataclass
class HostOptions(Options):
    code: str | None = None
    code_length: int = 2
    once: bool = False
    # Several helpers: `features` serve the first; `more` makes a fresh set for each further
    # helper (None: no invitations); `shared` features are the session's, started once.
    shared: list[Feature] = field(default_factory=list)
    more: Callable[[], list[Feature]] | None = None
    max_joiners: int = 4
    invite_ttl: float = 600.0
    # Features made once the code is out (send: its files feature, whose modules then load while
    # the receiver is awaited, not before the code): added to `features` before the first offer.
    after_code: Callable[[], Awaitable[list[Feature]]] | None = None


@dataclass
class JoinOptions(Options):
    wants: tuple[str, ...] = ("view",)
    approval_timeout: float = 300.0
    # Features whose modules load with WebRTC on a worker thread while pairing goes on:
    # added to `features` when the host's offer is answered.
    later: Awaitable[list[Feature]] | None = None
    # SPAKE2 for the code, started with the command (crypto/pake_process.start_for); join()
    # ends it. None: SPAKE2 runs in this process.
    pake: PakeProcess | None = None


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


class DirectLink:
    """The sealed channel for the "direct" phase: dicts in and out, each sealed and numbered."""

    def __init__(self, relay: _Relay, pairing: sm.Pairing, peer: str,
                 first: dict[str, Any] | None = None) -> None:
        self._relay = relay
        self._pairing = pairing
        self.peer = peer
        self._first = first
        # The same on both sides, and nobody else can derive it: ties the two records together.
        key = pairing.key or b""
        self.session_id = hashlib.sha256(b"rassist direct session\0" + key).hexdigest()[:32]

    async def send(self, fields: dict[str, Any]) -> None:
        await self._relay.act(self._pairing.direct(fields))

    async def recv(self, timeout: float | None = None) -> dict[str, Any]:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        while True:
            body = await self._relay.recv(timeout, "the peer")
            for action in await self._relay.act(self._pairing.receive(body)):
                if isinstance(action, sm.Direct):
                    return action.fields


class _Final(Exception):
    """The direct hook failed: that ends the command (no fresh code, as after a session)."""

    def __init__(self, error: RassistError) -> None:
        super().__init__(error.message)
        self.error = error


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


async def load_webrtc() -> None:
    """Import aiortc and what it pulls (~150 ms) on a worker thread, so that the event loop goes
    on pairing meanwhile. A second caller simply waits for the same import."""
    await preload.ready()


def server_urls(server: str) -> list[str]:
    """--server: one URL, or several nodes of a cluster separated by commas."""
    urls = [url.strip() for url in server.split(",") if url.strip()]
    if not urls:
        raise UsageError("--server needs a URL (or several, separated by commas)")
    return urls


def _prepare(peer: Peer, features: list[Feature], role: str) -> None:
    for feature in features:
        feature.prepare(peer.pc, role)


async def _make_offer(opts: Options, ice: list[dict],
                      added: Awaitable[None] | None = None) -> tuple[Peer, str]:
    await load_webrtc()
    if added is not None:  # HostOptions.after_code's features are in opts.features
        await added
    from rassist.transport.peer import Peer

    peer = Peer(ice, opts.relay_only)
    _prepare(peer, [*getattr(opts, "shared", []), *opts.features], "host")
    return peer, await peer.offer()


async def _ice_servers(client: RendezvousClient, opts: Options) -> list[dict]:
    servers = await client.turn_servers()
    if opts.relay_only and not any(str(u).startswith("turn") for s in servers for u in s["urls"]):
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
        self._ice: list[dict] = []  # STUN and TURN servers, asked with each nameplate
        self._prepared: asyncio.Future[tuple[Peer, str]] | None = None
        self.session: Session | None = None
        self.approve_more: Approver | None = None  # a running session's approvals (None: `approve`)
        self._resume_names: list[Any] = []  # announcements of resume LAN names (embedded server)
        self._added: asyncio.Future[None] | None = None  # opts.after_code's features, once added

    async def run(self) -> Session | DirectDone:
        client = await self._rendezvous()
        preset: Code | None = None
        if self.opts.code:
            try:
                preset = parse_code(self.opts.code)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        try:
            while True:
                await client.ask_turn()  # answered before the nameplate: the code waits for no more
                nameplate = await client.allocate(preset.nameplate if preset else None)
                # Fresh credentials each attempt; --relay-only without TURN is refused before any code.
                self._ice = await _ice_servers(client, self.opts)
                code = preset or make_code(nameplate, self.opts.code_length)
                # A preset code is good for one attempt, and the other side knows it already:
                # wait for it only as long as for any peer (it may also have come first).
                patience = self.opts.timeout if preset else None
                preset = None
                if self._embedded is not None:
                    await self._embedded.announce.publish(nameplate)
                self.emit("code", code=str(code))
                self.emit("waiting", **{"for": "joiner"})
                if self.opts.after_code is not None and self._added is None:
                    self._added = asyncio.ensure_future(self._add_features(self.opts.after_code))
                preload.start(("spake2",))  # not while a joiner waits for our answer to its claim
                if self.opts.direct is None:  # only now: the code is out before WebRTC loads
                    self._webrtc()
                await client.wait_joined(patience)
                try:
                    paired = await self._pair(_Relay(client, self.opts.timeout), code, self._webrtc, self.approve)
                    if isinstance(paired, DirectDone):
                        return paired
                    return self._session(*paired)
                except _Final as final:
                    raise final.error from None
                except (AuthError, DeclinedError, PeerGone, TimedOut) as exc:
                    if isinstance(exc, PeerGone):
                        exc = ConnectionLost("the joiner left before pairing finished")
                    self.emit("error", kind=exc.kind, message=exc.message)
                    prepared = self._prepared
                    if prepared is not None and prepared.done():  # its offer may have gone out
                        with contextlib.suppress(Exception):
                            await (await prepared)[0].close()
                        self._prepared = None
                    if self.opts.once:
                        raise exc from None
        finally:
            if self._prepared is not None and not self._prepared.done():
                self._prepared.cancel()
            if self._added is not None and not self._added.done():
                self._added.cancel()
            with contextlib.suppress(Exception):
                await client.close()
            if self.session is None:  # else its invitations and resumes need it till the end
                await self.stop_embedded()

    def _session(self, peer: Peer, hello: sm.PeerHello, granted: tuple[str, ...], key: bytes | None) -> Session:
        opts = self.opts
        self.session = Session("host", peer, hello.name, set(granted), self.emit, opts.features,
                               opts.peer_timeout, shared=opts.shared, max_joiners=opts.max_joiners)
        if opts.more is not None and opts.max_joiners > 1:
            from rassist.invitations import Invitations

            self.session.inviter = Invitations(self, self.session)
        self.session.after_end.append(self.stop_embedded)
        self.session.first.resume = self.resume_config(key)
        return self.session

    def resume_config(self, key: bytes | None) -> Any:
        """How a helper paired with `key` comes back after a drop: through --server, or this
        host's embedded server (kept for the session), announced under the resume's LAN name."""
        from rassist.resuming import config

        urls = server_urls(self.opts.server) if self.opts.server else \
            [self._embedded.url] if self._embedded is not None else []
        cfg = config(key, "host", urls, self.opts.resume_window, self.opts.relay_only)
        if cfg is not None and self._embedded is not None:
            from rassist.crypto.resume import lan_name
            from rassist.rendezvous.local import Announcement

            announce = Announcement(self._embedded.announce.port)
            self._resume_names.append(announce)
            asyncio.ensure_future(announce.publish(lan_name(cfg.state.secret)))
        return cfg

    def _webrtc(self) -> asyncio.Future[tuple[Peer, str]]:
        """Our peer connection and its offer, prepared once per attempt."""
        if self._prepared is None:
            self._prepared = asyncio.ensure_future(_make_offer(self.opts, self._ice, self._added))
        return self._prepared

    async def _add_features(self, make: Callable[[], Awaitable[list[Feature]]]) -> None:
        self.opts.features.extend(await make())

    async def _pair(self, relay: _Relay, code: Code, webrtc: Callable[[], Awaitable[tuple[Peer, str]]],
                    approve: Approver) -> tuple[Peer, sm.PeerHello, tuple[str, ...], bytes | None] | DirectDone:
        pairing = sm.Pairing("host", str(code), self.opts.name)
        hello = None
        while hello is None:
            for action in await relay.act(pairing.receive(await relay.recv(waiting_for="the joiner"))):
                if isinstance(action, sm.PeerHello):
                    hello = action
        hello = dataclasses.replace(hello, request_id=secrets.token_hex(4))
        # The approver starts listening first: an answer sent the moment the "request" event is
        # out must find it waiting, not be refused as an answer to nothing.
        deciding = asyncio.ensure_future(approve(hello))
        try:
            await asyncio.sleep(0)
            self.emit("request", id=hello.request_id, peer=hello.name, wants=list(hello.wants))
        except BaseException:
            deciding.cancel()
            raise
        # Stop asking if the joiner leaves or aborts while the host makes up its mind.
        try:
            granted = await _listening(relay, pairing, deciding, hangup_ends_it=True)
        except DeclinedError as refused:  # the approver's own reason (the session is full)
            await relay.act(pairing.decide(None, refused.message))
            raise
        if granted is None:
            await relay.act(pairing.decide(None))
            raise DeclinedError(f"declined {hello.name}")
        await relay.act(pairing.decide(granted))
        if self.opts.direct is not None and hello.direct:
            try:
                done = await self.opts.direct(DirectLink(relay, pairing, hello.name))
            except RassistError as exc:
                raise _Final(exc) from None
            if done is not None:
                return DirectDone(done)
        peer, offer = await webrtc()
        await relay.act(pairing.offer(offer))
        for action in await relay.act(pairing.receive(await relay.recv(waiting_for="the joiner"))):
            if isinstance(action, sm.Sdp):
                await peer.accept(action.sdp)
        # The peer or the server may hang up once signalling is done: only ICE matters now.
        await _listening(relay, pairing, peer.wait_open(self.opts.timeout), hangup_ends_it=False)
        return peer, hello, granted, pairing.key

    async def _rendezvous(self) -> RendezvousClient:
        if self.opts.server:
            return await connect_any(server_urls(self.opts.server), self.opts.timeout)
        from rassist.rendezvous.embedded import Embedded

        self._embedded = await Embedded.start()
        return await connect_any([self._embedded.url], self.opts.timeout)

    async def stop_embedded(self) -> None:
        for announce in self._resume_names:
            with contextlib.suppress(Exception):
                await announce.close()
        self._resume_names = []
        if self._embedded is not None:
            await self._embedded.stop()
            self._embedded = None


async def join(code_text: str, opts: JoinOptions, emit: Emit) -> Session | DirectDone:
    try:
        code = parse_code(code_text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    def host_awaited() -> None:
        emit("waiting", **{"for": "host"})

    # Meanwhile: rendezvous and SPAKE2. A direct transfer may need no WebRTC at all.
    webrtc = asyncio.ensure_future(load_webrtc()) if opts.direct is None else None
    client = None
    try:
        if opts.server:
            client = await connect_any(server_urls(opts.server), opts.timeout)
        else:
            from rassist.rendezvous.local import find_host  # the embedded server of a host nearby

            client = await find_host(code.nameplate, opts.timeout, host_awaited)
        paired_at = client.url
        relay = _Relay(client, opts.timeout)
        pake = opts.pake if opts.pake is not None and opts.pake.code == str(code) else None
        pairing = sm.Pairing("join", str(code), opts.name, opts.wants, opts.direct is not None, pake)
        (first,) = pairing.start()  # our SPAKE2 message travels with the claim: one round trip less
        assert isinstance(first, sm.Send)
        await client.ask_turn()  # answered before the claim: no round trip of its own
        if not await client.claim(code.nameplate, opts.timeout, host_awaited, first.body):
            await relay.act([first])
        ice = await _ice_servers(client, opts)  # in already; the host's answer waits in the client
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
                elif isinstance(action, sm.Direct):
                    if opts.direct is None:  # we never asked for it
                        await relay.act(pairing.direct({"fallback": True}))
                        continue
                    link = DirectLink(relay, pairing, host_name, action.fields)
                    done = await opts.direct(link)
                    if done is not None:
                        return DirectDone(done)
                elif isinstance(action, sm.Sdp):
                    await (webrtc if webrtc is not None else load_webrtc())
                    if opts.later is not None:
                        opts.features.extend(await opts.later)
                        opts.later = None
                    from rassist.transport.peer import Peer

                    peer = Peer(ice, opts.relay_only)
                    _prepare(peer, opts.features, "join")
                    await relay.act(pairing.answer(await peer.answer(action.sdp)))
                    preload.start(SESSION_MODULES)
        await _listening(relay, pairing, peer.wait_open(opts.timeout), hangup_ends_it=False)
    except PeerGone:
        raise ConnectionLost("the host left before pairing finished") from None
    finally:
        if opts.pake is not None:
            opts.pake.close()
        if webrtc is not None:
            webrtc.cancel()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
    session = Session("join", peer, host_name, set(granted), emit, opts.features, opts.peer_timeout)
    session.first.resume = _join_resume(pairing.key, opts, paired_at)
    return session


def _join_resume(key: bytes | None, opts: JoinOptions, paired_at: str) -> Any:
    """--server: meet there again; the embedded default: find the host's server again as it
    announces itself under the resume's LAN name (its address may have changed), then where
    we paired."""
    from rassist.resuming import config

    urls: Any = server_urls(opts.server) if opts.server else [paired_at]
    cfg = config(key, "join", urls, opts.resume_window, opts.relay_only)
    if cfg is not None and not opts.server:
        from rassist.transport.reconnect import embedded_urls

        cfg.urls = embedded_urls(cfg.state.secret, [paired_at])
    return cfg
