"""Invitations: while the host's session runs, one-time codes for more helpers.

Each invitation has its own rendezvous connection and code; the helper pairs with it exactly as
the first did (pairing.Host._pair: SPAKE2, one guess, the host's approval) and joins the running
session as a further participant. An unused invitation expires or can be withdrawn; its
nameplate is kept until the session ends so that a helper who comes with it is told why."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from rassist.errors import (
    CommandError,
    ConnectionLost,
    DeclinedError,
    RassistError,
    UsageError,
)
from rassist.pairing import Approver, DirectDone, Host, _Final, _prepare, _Relay
from rassist.protocol import pairing as sm
from rassist.protocol.codes import Code, make_code, parse_code
from rassist.rendezvous.client import PeerGone, RendezvousClient, connect_any

if TYPE_CHECKING:
    from rassist.session import Session
    from rassist.transport.peer import Peer


def _refuse(reason: str) -> Approver:
    async def refuse(hello: sm.PeerHello) -> tuple[str, ...] | None:
        raise DeclinedError(reason)
    return refuse


async def _no_webrtc() -> tuple[Peer, str]:
    raise DeclinedError("no connection for a refused helper")


class Invitations:
    """The running session's Inviter (session.py), on the rendezvous of the host's pairing."""

    def __init__(self, host: Host, session: Session) -> None:
        self.host = host
        self.session = session
        self.opts = host.opts
        self.emit = host.emit
        self._invitations: dict[str, asyncio.Event] = {}  # open ones: code -> set when withdrawn
        self._invite_tasks: set[asyncio.Task[None]] = set()

    def open_invitations(self) -> int:
        return len(self._invitations)

    async def invite(self) -> None:
        """A fresh one-time code for one more helper: an `invite` event; the helper pairs with
        it as the first did (SPAKE2, one guess), is approved on its own, and joins the session."""
        url = self.opts.server or (self.host._embedded.url if self.host._embedded is not None else None)
        if url is None:
            raise UsageError("the rendezvous server is gone: no more invitations")
        client = await connect_any([url], self.opts.timeout)
        try:
            nameplate = await client.allocate(None)
        except BaseException:
            with contextlib.suppress(Exception):
                await client.close()
            raise
        code = str(make_code(nameplate, self.opts.code_length))
        if self.host._embedded is not None:
            await self.host._embedded.announce.publish(nameplate, slot=nameplate)  # beside the others
        ttl = self.opts.invite_ttl
        self._invitations[code] = asyncio.Event()
        task = asyncio.ensure_future(self._invited(client, parse_code(code), ttl, self._invitations[code]))
        self._invite_tasks.add(task)
        task.add_done_callback(self._invite_tasks.discard)
        self.emit("invite", code=code, expires_in=ttl,
                  expires=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + ttl)))

    async def withdraw(self, code: str) -> None:
        withdrawn = self._invitations.get(code.strip())
        if withdrawn is None:
            open_codes = ", ".join(self._invitations) or "none"
            raise CommandError(f"no open invitation {code!r} (open: {open_codes})")
        withdrawn.set()

    async def stop(self) -> None:
        """The session ended: every invitation withdrawn, the embedded server stopped."""
        for task in list(self._invite_tasks):
            task.cancel()
        for task in list(self._invite_tasks):
            with contextlib.suppress(BaseException):
                await task
        self._invitations.clear()
        await self.host.stop_embedded()

    async def _invited(self, client: RendezvousClient, code: Code, ttl: float, withdrawn: asyncio.Event) -> None:
        session = self.session
        reserved = False
        relay = _Relay(client, self.opts.timeout)
        joined = asyncio.ensure_future(client.wait_joined())
        stop = asyncio.ensure_future(withdrawn.wait())
        try:
            await asyncio.wait({joined, stop}, timeout=ttl, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not joined.done():
                reason = "withdrawn" if withdrawn.is_set() else "expired"
                self._close_invitation(code, reason)
                # The nameplate stays ours: a helper who comes with this code now is told why,
                # at once, instead of waiting in vain for a host.
                with contextlib.suppress(RassistError, PeerGone):
                    await joined
                    said = "this invitation has expired" if reason == "expired" else "this invitation was withdrawn"
                    await self.host._pair(relay, code, _no_webrtc, _refuse(said))
                return
            try:
                joined.result()
            except RassistError as exc:  # the rendezvous went away: this invitation cannot work
                self._close_invitation(code, "failed")
                self.emit("error", kind=exc.kind, message=exc.message, code=str(code))
                return
            self._close_invitation(code, "used")

            async def approve(hello: sm.PeerHello) -> tuple[str, ...] | None:
                nonlocal reserved
                full = session.reserve()
                if full is not None:
                    self.emit("error", kind="full", message=f"{hello.name} was turned away: {full}")
                    raise DeclinedError(full)
                reserved = True
                granted = await (self.host.approve_more or self.host.approve)(hello)
                if granted is None:
                    return None
                allowed, notes = session.admissible(granted)
                for note in notes:
                    self.emit("error", kind="control", message=f"{hello.name}: {note}")
                return tuple(p for p in granted if p in allowed)

            features = self.opts.more() if self.opts.more is not None else []

            made: list[Peer] = []

            async def webrtc() -> tuple[Peer, str]:
                from rassist.transport.peer import Peer

                peer = Peer(self.host._ice, self.opts.relay_only)
                made.append(peer)
                _prepare(peer, features, "host")
                return peer, await peer.offer()

            try:
                paired = await self.host._pair(relay, code, webrtc, approve)
            except (RassistError, PeerGone, _Final) as exc:
                for peer in made:  # its offer may have gone out: nothing of it may stay open
                    with contextlib.suppress(Exception):
                        await peer.close()
                if isinstance(exc, PeerGone):
                    exc = ConnectionLost("the joiner left before pairing finished")
                if isinstance(exc, RassistError) and not (isinstance(exc, DeclinedError) and "full" in exc.message):
                    self.emit("error", kind=exc.kind, message=exc.message, code=str(code))
                return
            if isinstance(paired, DirectDone):
                return
            peer, hello, granted, key = paired
            reserved = False
            try:
                participant = await session.admit(peer, hello.name, set(granted), features)
                participant.resume = self.host.resume_config(key)
            except RassistError:
                with contextlib.suppress(Exception):
                    await peer.close()
        finally:
            joined.cancel()
            stop.cancel()
            if reserved:
                session.release()
            self._invitations.pop(str(code), None)
            if self.host._embedded is not None:
                await self.host._embedded.announce.retire(code.nameplate)
            with contextlib.suppress(Exception):
                await client.close()
            session.invitation_closed()

    def _close_invitation(self, code: Code, reason: str) -> None:
        """No longer open: used, expired or withdrawn (an `invite-closed` event)."""
        self._invitations.pop(str(code), None)
        self.emit("invite-closed", code=str(code), reason=reason)
        if reason != "used":
            self.session.invitation_closed()
