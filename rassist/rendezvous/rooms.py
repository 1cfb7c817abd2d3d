"""Who is paired with whom on the rendezvous server. Pure bookkeeping, no I/O.

A nameplate belongs to one waiting host. The first claim pairs it with a joiner and takes it off
the open list for good: a second claim (an attacker's second guess) finds nothing."""

from __future__ import annotations

import secrets
from collections.abc import Hashable
from dataclasses import dataclass, field

Conn = Hashable


class NoSuchNameplate(LookupError):
    pass


class NameplateTaken(LookupError):
    pass


@dataclass
class Rooms:
    random_nameplates: bool = False
    open: dict[str, Conn] = field(default_factory=dict)        # nameplate -> waiting host
    nameplate_of: dict[Conn, str] = field(default_factory=dict)  # host -> its open nameplate
    partner: dict[Conn, Conn] = field(default_factory=dict)     # both directions

    def allocate(self, host: Conn, wanted: str | None = None) -> str:
        """A fresh nameplate for `host` (`wanted` if given and free), burning any it had."""
        self.release(host)
        if wanted is not None and wanted in self.open:
            raise NameplateTaken(wanted)
        nameplate = wanted or self._free_nameplate()
        self.open[nameplate] = host
        self.nameplate_of[host] = nameplate
        return nameplate

    def claim(self, nameplate: str, joiner: Conn) -> Conn:
        host = self.open.pop(nameplate, None)
        if host is None or joiner in self.partner or joiner is host:
            raise NoSuchNameplate(nameplate)
        del self.nameplate_of[host]
        self.partner[host] = joiner
        self.partner[joiner] = host
        return host

    def release(self, conn: Conn) -> Conn | None:
        """Forget `conn`'s nameplate and pairing; returns the partner to tell, if any."""
        nameplate = self.nameplate_of.pop(conn, None)
        if nameplate is not None:
            self.open.pop(nameplate, None)
        other = self.partner.pop(conn, None)
        if other is not None:
            self.partner.pop(other, None)
        return other

    def _free_nameplate(self) -> str:
        if self.random_nameplates:
            # Several embedded servers share a LAN: random numbers make a clash unlikely.
            while (candidate := str(10 + secrets.randbelow(990))) in self.open:
                pass
            return candidate
        number = 1
        while str(number) in self.open:
            number += 1
        return str(number)
