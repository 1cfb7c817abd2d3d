"""Who is paired with whom on the rendezvous server. Pure bookkeeping, no I/O.

A nameplate belongs to one waiting host. The first claim pairs it with a joiner and takes it off
the open list for good: a second claim (an attacker's second guess) finds nothing.

With a preset code either side may arrive first: a claim may wait for its nameplate. Only a
host that asks for that very nameplate pairs with the waiting joiner (never a fresh
allocation), and the pairing uses the nameplate up exactly as an ordinary claim does, so a
waiting claim is still one guess.

A nameplate that has been paired is spent for a while (SPENT_KEEP): a late claim of it, such as
the right code after a wrong guess burned it, is told at once that it was used, instead of
waiting for a host that will never come; and fresh allocations avoid it, so the host's new code
gets a new number.

A mailbox (resume, see protocol/resume.py) pairs the first two connections that meet at it; it
is forgotten the moment they pair, and a waiting one when it leaves or the server's meet wait
runs out. Nothing ties it to a nameplate."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

Conn = Hashable


SPENT_KEEP = 300.0  # seconds a paired nameplate stays spent
SPENT_MAX = 4096    # spent nameplates remembered at most (oldest forgotten first)


class NoSuchNameplate(LookupError):
    def __init__(self, nameplate: str, used: bool = False) -> None:
        super().__init__(nameplate)
        self.used = used  # paired a moment ago: the code was used (or burned by a wrong guess)


class NameplateTaken(LookupError):
    pass


class MailboxBusy(LookupError):
    """This connection is paired or waiting already: one pairing per connection."""


@dataclass
class Rooms:
    random_nameplates: bool = False
    open: dict[str, Conn] = field(default_factory=dict)        # nameplate -> waiting host
    nameplate_of: dict[Conn, str] = field(default_factory=dict)  # host -> its open nameplate
    partner: dict[Conn, Conn] = field(default_factory=dict)     # both directions
    waiting: dict[str, Conn] = field(default_factory=dict)     # nameplate -> joiner waiting for it
    waits_for: dict[Conn, str] = field(default_factory=dict)   # joiner -> the nameplate it awaits
    in_use: dict[str, Conn] = field(default_factory=dict)      # nameplate -> its paired host
    used_by: dict[Conn, str] = field(default_factory=dict)     # paired host -> its nameplate
    spent: dict[str, float] = field(default_factory=dict)      # nameplate -> when its pairing ended
    meeting: dict[str, Conn] = field(default_factory=dict)     # mailbox -> the side waiting there
    meets_at: dict[Conn, str] = field(default_factory=dict)    # that side -> its mailbox
    clock: Callable[[], float] = time.monotonic

    def allocate(self, host: Conn, wanted: str | None = None) -> str:
        """A fresh nameplate for `host` (`wanted` if given and free), burning any it had.
        If a joiner waits for `wanted`, the two are paired at once (see `partner`)."""
        self.release(host)
        if wanted is not None and (wanted in self.open or wanted in self.in_use):
            raise NameplateTaken(wanted)
        if wanted is not None:
            self.spent.pop(wanted, None)  # a preset code asks for this number again, knowingly
        nameplate = wanted or self._free_nameplate()
        joiner = self.waiting.pop(nameplate, None)
        if joiner is not None:
            del self.waits_for[joiner]
            self._pair(nameplate, host, joiner)
            return nameplate
        self.open[nameplate] = host
        self.nameplate_of[host] = nameplate
        return nameplate

    def claim(self, nameplate: str, joiner: Conn, wait: bool = False) -> Conn | None:
        """The host of `nameplate`, now paired with `joiner`. With `wait`, a nameplate nobody
        holds yet is awaited instead: returns None and a later allocate() pairs them."""
        if joiner in self.partner or joiner in self.waits_for or joiner in self.nameplate_of \
                or joiner in self.meets_at:
            raise NoSuchNameplate(nameplate)
        host = self.open.pop(nameplate, None)
        if host is None:
            if self._is_spent(nameplate) and nameplate not in self.in_use:
                raise NoSuchNameplate(nameplate, used=True)
            if not wait or nameplate in self.in_use or nameplate in self.waiting:
                raise NoSuchNameplate(nameplate)
            self.waiting[nameplate] = joiner
            self.waits_for[joiner] = nameplate
            return None
        del self.nameplate_of[host]
        self._pair(nameplate, host, joiner)
        return host

    def meet(self, mailbox: str, conn: Conn) -> Conn | None:
        """The side that waited at `mailbox`, now paired with `conn`; None if `conn` is first
        and waits there. MailboxBusy if `conn` is paired or waiting already."""
        if conn in self.partner or conn in self.waits_for or conn in self.nameplate_of or conn in self.meets_at:
            raise MailboxBusy(mailbox)
        other = self.meeting.pop(mailbox, None)
        if other is None:
            self.meeting[mailbox] = conn
            self.meets_at[conn] = mailbox
            return None
        del self.meets_at[other]
        self.partner[other] = conn
        self.partner[conn] = other
        return other

    def unmeet(self, conn: Conn, mailbox: str) -> bool:
        """Stop `conn` waiting at `mailbox` (its wait ran out); False if it no longer waits there."""
        if self.meets_at.get(conn) != mailbox:
            return False
        del self.meets_at[conn]
        del self.meeting[mailbox]
        return True

    def release(self, conn: Conn) -> Conn | None:
        """Forget `conn`'s nameplate, wait and pairing; returns the partner to tell, if any."""
        mailbox = self.meets_at.pop(conn, None)
        if mailbox is not None:
            self.meeting.pop(mailbox, None)
        nameplate = self.nameplate_of.pop(conn, None)
        if nameplate is not None:
            self.open.pop(nameplate, None)
        awaited = self.waits_for.pop(conn, None)
        if awaited is not None:
            self.waiting.pop(awaited, None)
        other = self.partner.pop(conn, None)
        if other is not None:
            self.partner.pop(other, None)
        for host in (conn, other):
            used = self.used_by.pop(host, None)
            if used is not None:
                del self.in_use[used]
                self.spent.pop(used, None)
                self.spent[used] = self.clock()
                while len(self.spent) > SPENT_MAX:
                    del self.spent[next(iter(self.spent))]
        return other

    def _is_spent(self, nameplate: str) -> bool:
        at = self.spent.get(nameplate)
        if at is not None and self.clock() - at > SPENT_KEEP:
            del self.spent[nameplate]
            return False
        return at is not None

    def _pair(self, nameplate: str, host: Conn, joiner: Conn) -> None:
        self.partner[host] = joiner
        self.partner[joiner] = host
        self.in_use[nameplate] = host
        self.used_by[host] = nameplate

    def _free_nameplate(self) -> str:
        # Never a nameplate a joiner waits for: that joiner expects a host with a preset code.
        taken = self.open.keys() | self.waiting.keys() | self.in_use.keys() | {
            n for n in list(self.spent) if self._is_spent(n)}
        if self.random_nameplates:
            # Several embedded servers share a LAN: random numbers make a clash unlikely.
            while (candidate := str(10 + secrets.randbelow(990))) in taken:
                pass
            return candidate
        number = 1
        while str(number) in taken:
            number += 1
        return str(number)
