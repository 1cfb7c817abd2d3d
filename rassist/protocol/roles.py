"""Who may do what in a session with several helpers, and who holds control. Pure.

The host's session asks this table before it changes a permission and carries out the actions it
returns (each a feature's grant or revoke). The rules:
- a participant holds a set of permissions (view, control, files, annotate);
- at most one participant holds control at a time: granting it to one takes it from the other;
- a helper asks for control (the host decides); the controller may pass control to another
  helper only if the host allowed passing;
- the host can revoke anything and remove anyone at any time; a participant who leaves (or
  drops) holds nothing any more, so control is free again.

Every method either returns the actions to carry out, in order, or raises RoleError (nothing
changed then)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rassist.protocol.permissions import CONTROL, PERMISSIONS


class RoleError(ValueError):
    """A refused change: the message says why, for a person."""


@dataclass(frozen=True)
class Grant:
    who: str
    permission: str


@dataclass(frozen=True)
class Revoke:
    who: str
    permission: str
    reason: str


@dataclass(frozen=True)
class Ask:
    """The host decides whether `who` gets control."""
    who: str


Action = Grant | Revoke | Ask


class Roles:
    def __init__(self, passing: bool = False) -> None:
        self.granted: dict[str, set[str]] = {}
        self.passing = passing  # may the controller hand control to another helper?

    @property
    def controller(self) -> str | None:
        return next((who for who, perms in self.granted.items() if CONTROL in perms), None)

    def join(self, who: str, granted: Iterable[str]) -> tuple[set[str], list[str]]:
        """A newcomer approved with `granted`: what it really gets, and notes on what it did not
        (control, when another helper holds it already)."""
        if who in self.granted:
            raise RoleError(f"{who} is in the session already")
        wanted, notes = self.admissible(granted)
        self.granted[who] = wanted
        return set(wanted), notes

    def admissible(self, granted: Iterable[str]) -> tuple[set[str], list[str]]:
        """What a newcomer approved with `granted` can get now (asked before it is told), and
        notes on what it cannot. Changes nothing."""
        wanted = {p for p in granted if p in PERMISSIONS}
        notes = []
        holder = self.controller
        if CONTROL in wanted and holder is not None:
            wanted.discard(CONTROL)
            notes.append(f"control stays with {holder}: one controller at a time")
        return wanted, notes

    def sync(self, who: str, granted: Iterable[str]) -> None:
        """What a participant's features really hold now (a grant that failed, a revoke by a
        feature on its own) replaces what the table thought."""
        if who in self.granted:
            self.granted[who] = {p for p in granted if p in PERMISSIONS}

    def grant(self, who: str, permission: str) -> list[Action]:
        perms = self._member(who)
        if permission not in PERMISSIONS:
            raise RoleError(f"unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}")
        if permission in perms:
            return []
        actions: list[Action] = []
        holder = self.controller
        if permission == CONTROL and holder is not None:
            self.granted[holder].discard(CONTROL)
            actions.append(Revoke(holder, CONTROL, f"control went to {who}"))
        perms.add(permission)
        actions.append(Grant(who, permission))
        return actions

    def revoke(self, who: str, permission: str) -> list[Action]:
        perms = self._member(who)
        if permission not in perms:
            raise RoleError(f"{who} does not hold {permission}")
        perms.discard(permission)
        return [Revoke(who, permission, "revoked by the host")]

    def request(self, who: str) -> list[Action]:
        """A helper asks for control: the host decides (nothing if it holds control already)."""
        perms = self._member(who)
        return [] if CONTROL in perms else [Ask(who)]

    def pass_control(self, giver: str, taker: str) -> list[Action]:
        self._member(giver)
        self._member(taker)
        if self.controller != giver:
            raise RoleError("only the helper who holds control can pass it on")
        if not self.passing:
            raise RoleError("the host does not allow passing control; ask the host")
        if taker == giver:
            return []
        self.granted[giver].discard(CONTROL)
        self.granted[taker].add(CONTROL)
        return [Revoke(giver, CONTROL, f"passed to {taker}"), Grant(taker, CONTROL)]

    def leave(self, who: str) -> bool:
        """`who` is gone (left, dropped or removed); True if it held control (now free)."""
        perms = self.granted.pop(who, set())
        return CONTROL in perms

    def _member(self, who: str) -> set[str]:
        try:
            return self.granted[who]
        except KeyError:
            raise RoleError(f"no participant {who!r} in this session") from None
