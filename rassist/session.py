"""The one object the CLI and the TUI talk to: the participants, their permissions, their events.

On a joiner it holds one participant (the host); on the host, every helper (rassist/participant.py),
up to a cap, with invitations for more while it runs (its `inviter`: rassist/invitations.py).
Commands go down (chat(), handle_command(), close()); events come up through `emit`, one call per
event, with the same names and fields as the --json stream. The host's permission and control
rules are protocol/roles.py, carried out by rassist/host_rules.py."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rassist.errors import CommandError, ConnectionLost, RassistError
from rassist.participant import MAX_CHAT, Link, Participant

if TYPE_CHECKING:  # a session exists only once WebRTC is loaded; its types cost nothing before
    from aiortc import RTCDataChannel, RTCPeerConnection

    from rassist.host_rules import HostRules
    from rassist.transport.peer import Peer

Role = Literal["host", "join"]
Emit = Callable[..., None]
CommandHandler = Callable[[dict[str, Any]], Awaitable[None] | None]
Toggle = Callable[[], Awaitable[None]]
MAX_NAME = 100
# With several helpers and no "to", these go to every one of them; anything else needs "to".
TO_EVERYONE = {"send", "send-text"}
# These act on what the session shares (the annotation board): one helper's feature does it.
TO_ANY = {"clear"}
# These name what they answer (an offer's id): the helper who knows it takes it.
TO_OWNER = {"accept", "decline"}
MAX_ROSTER = 64


class Feature(Protocol):
    def prepare(self, pc: RTCPeerConnection, role: str) -> None: ...
    async def start(self, session: Participant) -> None: ...
    async def stop(self) -> None: ...


class Inviter(Protocol):
    """One-time codes for more helpers while the session runs (rassist/invitations.py)."""

    def open_invitations(self) -> int: ...
    async def invite(self) -> None: ...
    async def withdraw(self, code: str) -> None: ...
    async def stop(self) -> None: ...


class Session:
    """`peer`, `peer_name`, `granted` and `features` make the first participant; `shared`
    features are started once, with it, and stopped when the session ends (the host's record)."""

    def __init__(self, role: Role, peer: Peer, peer_name: str, granted: set[str], emit: Emit,
                 features: list[Feature], peer_timeout: float = 8.0, *,
                 shared: list[Feature] | None = None, max_joiners: int = 1) -> None:
        self.role = role
        self.emit = emit
        self.peer_timeout = peer_timeout
        self.shared = list(shared or [])
        self.max_joiners = max_joiners
        self.inviter: Inviter | None = None
        self.rules: HostRules | None = None
        if role == "host":  # a joiner has no use for the host's rules (nor their import, at start-up)
            from rassist.host_rules import HostRules as Rules

            self.rules = Rules(self)
        self.participants: dict[str, Participant] = {}
        self.before_bye: list[Callable[[], Awaitable[None]]] = []
        self.after_end: list[Callable[[], Awaitable[None]]] = []  # the host's embedded server stops
        self._ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._closing = False
        self._numbers = 0
        self._watchers: set[asyncio.Task[None]] = set()
        self._running = False
        self._everyone_ever: list[Participant] = []
        self._reserved = 0  # helpers approved and connecting: they count against the cap
        self._roster: list[dict[str, Any]] = []  # the joiner: who is in the session, as the host says
        self._commands: dict[str, CommandHandler] = {"chat": self._chat_command, "quit": self._quit_command}
        if self.rules is not None:
            self._commands |= self.rules.commands() | {"invite": self._invite_command,
                                                       "withdraw": self._withdraw_command}
        else:
            self._commands |= {"pass": self._pass_command}
        self.first = self._make(peer, peer_name, granted, features)

    # ------------------------------------------------------------ the first (or only) participant

    @property
    def peer_name(self) -> str:
        return self.first.peer_name

    @property
    def granted(self) -> set[str]:
        return self.first.granted

    @property
    def peer(self) -> Peer:
        return self.first.peer

    @property
    def pc(self) -> RTCPeerConnection:
        return self.first.pc

    @property
    def ctl(self) -> Any:
        return self.first.ctl

    @property
    def rtt(self) -> float | None:
        return self.first.rtt

    @property
    def features(self) -> list[Feature]:
        """The session's features and those of every participant it has had."""
        return [*self.shared, *(f for p in self._everyone_ever for f in p.features)]

    @property
    def chat_dropped(self) -> int:
        return sum(p.chat_dropped for p in self._everyone())

    def channel(self, label: str) -> RTCDataChannel:
        return self.first.channel(label)

    # ------------------------------------------------------------ commands from the CLI and the TUI

    def add_command(self, key: str, handler: CommandHandler) -> None:
        """A command of this side as a whole (the joiner's /screen, the host's approvals)."""
        self._commands[key] = handler

    def has_command(self, key: str) -> bool:
        """Whether a feature handles this command (the TUI shows only what is wired)."""
        return key in self._commands or any(key in p.commands for p in self._everyone())

    def has_permission(self, name: str) -> bool:
        """Whether a feature can grant `name` later (the TUI offers only what is wired)."""
        return any(name in p.permissions for p in self._everyone())

    async def start(self) -> None:
        # What pairing decided; features tell of later changes (annotate, control) in their own events.
        first = self.first
        if self.rules is not None:
            self.rules.join(first)
        self.participants[first.id] = first
        self._running = True
        granted = sorted(first.granted)  # as paired: later changes come in their own events
        await first.start(self.shared)
        fields = {"participant": first.id} if self.role == "host" else {}
        self.emit("connected", peer=first.peer_name, role=self.role, granted=granted,
                  route=first.peer.route(), **fields)
        self._watch(first)
        self.roster_changed()

    async def admit(self, peer: Peer, name: str, granted: set[str], features: list[Feature]) -> Participant:
        """A further helper, paired through an invitation and connected (the host only)."""
        self._reserved = max(0, self._reserved - 1)
        participant = self._make(peer, name, granted, features)
        if self._ended.done() or self._closing:
            await participant.stop()
            raise ConnectionLost("the session has ended")
        assert self.rules is not None
        notes = self.rules.join(participant)
        self.participants[participant.id] = participant
        granted = sorted(participant.granted)
        await participant.start()
        self.emit("joined", participant=participant.id, peer=name, granted=granted,
                  route=participant.peer.route())
        for note in notes:  # control taken meanwhile (approval takes time)
            self.emit("error", kind="control", message=f"{name}: {note}", participant=participant.id)
        self._watch(participant)
        self.roster_changed()
        return participant

    def reserve(self) -> str | None:
        """Room for one more helper (held until admit() or release()); None, or why not."""
        if len(self.participants) + self._reserved >= self.max_joiners:
            return f"the session is full ({self.max_joiners} helper(s) at most)"
        if self._ended.done() or self._closing:
            return "the session has ended"
        self._reserved += 1
        return None

    def release(self) -> None:
        self._reserved = max(0, self._reserved - 1)

    async def run(self) -> str:
        """Until the session ends; returns why, or raises ConnectionLost."""
        try:
            return await asyncio.shield(self._ended)
        finally:
            self._closing = True
            if self.inviter is not None:
                with contextlib.suppress(Exception):
                    await self.inviter.stop()
            for task in list(self._watchers):
                task.cancel()
            for hook in self.after_end:
                with contextlib.suppress(Exception):
                    await hook()
            for participant in list(self.participants.values()):
                await participant.stop()
            for feature in reversed(self.shared):
                with contextlib.suppress(Exception):
                    await feature.stop()
            self.participants.clear()

    def chat(self, text: str) -> None:
        text = text[:MAX_CHAT]
        for participant in self.participants.values():
            participant.ctl.send({"t": "chat", "text": text})
        self.emit("chat", **{"from": "me", "text": text})

    async def handle_command(self, cmd: Any) -> None:
        """One stdin command (a JSON object); a refusal becomes an `error` event."""
        try:
            if not isinstance(cmd, dict) or not cmd:
                raise CommandError("a command is a JSON object such as {\"chat\": \"hello\"}")
            known = set(self._commands) | {k for p in self._everyone() for k in p.commands}
            keys = [k for k in cmd if k in known]
            if not keys:
                raise CommandError(f"unknown command {next(iter(cmd))!r}; known: {', '.join(sorted(known))}")
            if len(keys) > 1:  # doing one and dropping the other would be half-done
                raise CommandError(f"one command per line: this one has {' and '.join(map(repr, keys))}; "
                                   "nothing was done")
            key = keys[0]
            # A feature's own command (a shared shell's "grant") comes before the session's.
            if key in self._commands and not any(key in p.commands for p in self._everyone()):
                result = self._commands[key](cmd)
                if asyncio.iscoroutine(result):
                    await result
                return
            if key in TO_OWNER:  # their "to" is a folder, not a participant
                await self._to_owner(cmd, key)
                return
            targets = self._targets(cmd, key) if key not in TO_ANY else \
                [p for p in self._everyone() if key in p.commands][:1]
            results = [p.commands[key](cmd) for p in targets]
            pending = [r for r in results if asyncio.iscoroutine(r)]
            for outcome in await asyncio.gather(*pending, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome
        except RassistError as exc:
            self.emit("error", kind=exc.kind, message=exc.message)

    async def close(self, reason: str = "quit") -> None:
        """Tell every peer and end; safe to call more than once."""
        if self._ended.done() or self._closing:
            return
        self._closing = True
        for hook in self.before_bye:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hook(), 1.5)  # the TUI gives close() 2 s
        await asyncio.gather(*(p.say_bye(reason) for p in self.participants.values()),
                             return_exceptions=True)
        self._end(reason)

    def outcome(self) -> str | None:
        """Why the session ended (its reason, or the error's kind), or None while it runs."""
        if not self._ended.done():
            return None
        error = self._ended.exception()
        return getattr(error, "kind", "error") if error is not None else self._ended.result()

    # ------------------------------------------------------------ what participants call

    def ctl_handlers(self, participant: Participant) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """Control messages the session itself answers, per participant."""
        if self.role == "host":
            assert self.rules is not None
            return {"control-pass": lambda msg: self.rules.on_pass(participant, msg)}
        return {"participants": self._on_roster, "pass-refused": self._on_pass_refused}

    async def grant(self, participant: Participant, name: str) -> None:
        """Give `name` to a helper through the host's rules (control leaves its holder first)."""
        assert self.rules is not None
        await self.rules.grant(participant, name)

    def admissible(self, granted: tuple[str, ...]) -> tuple[set[str], list[str]]:
        """What an approved newcomer can hold now (the host only)."""
        assert self.rules is not None
        return self.rules.admissible(granted)

    def roster_changed(self) -> None:
        """Everyone learns who is in the session (the host only)."""
        if self.rules is not None:
            self.rules.roster_changed()

    def heard_chat(self, sender: Participant, text: str, msg: dict[str, Any]) -> None:
        """A chat line from a peer. The host relays a helper's line to every other helper with
        the sender's name (a star through the host); a joiner shows who wrote a relayed line."""
        if self.role == "host":
            self.emit("chat", **{"from": sender.peer_name, "text": text, "participant": sender.id})
            for other in self.participants.values():
                if other is not sender:
                    other.ctl.send({"t": "chat", "text": text, "from": sender.peer_name, "participant": sender.id})
            return
        name = msg.get("from")
        if isinstance(name, str) and isinstance(msg.get("participant"), str):  # a helper, via the host
            self.emit("chat", **{"from": name[:MAX_NAME], "text": text, "participant": msg["participant"][:16],
                                 "via": sender.peer_name})
        else:
            self.emit("chat", **{"from": sender.peer_name, "text": text})

    # ------------------------------------------------------------ inside

    def _make(self, peer: Peer, name: str, granted: set[str], features: list[Feature]) -> Participant:
        self._numbers += 1
        participant = Participant(self, f"p{self._numbers}", Link(peer), name, set(granted), features,
                                  self.peer_timeout)
        self._everyone_ever.append(participant)
        return participant

    def _everyone(self) -> list[Participant]:
        return list(self.participants.values()) or [self.first]

    def _watch(self, participant: Participant) -> None:
        task = asyncio.ensure_future(self._until_gone(participant))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _until_gone(self, participant: Participant) -> None:
        while True:
            try:
                outcome: str | Exception = await asyncio.shield(participant.ended)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a lost connection is an outcome like any other
                outcome = exc
            if self._closing or self._ended.done():
                return
            # A dropped link (not a goodbye) is resumed within the window (rassist/resuming.py).
            if not isinstance(outcome, ConnectionLost) or participant.resume is None:
                break
            from rassist.resuming import resume

            try:
                await resume(participant, participant.resume, outcome.message)
            except ConnectionLost as exc:
                outcome = exc
                break
            if self.role == "host":
                self.roster_changed()
        if self._closing or self._ended.done():
            return
        self.participants.pop(participant.id, None)
        held = self.rules.leave(participant) if self.rules is not None else False
        # Its features go down first: a controller's keys and buttons are released right here.
        await participant.stop()
        if self._closing or self._ended.done():
            return
        alone = not self.participants and not self._reserved and (
            self.inviter is None or not self.inviter.open_invitations())
        if alone or self.role != "host":
            self._end(outcome)  # as with one helper: the session ends with its only peer
            return
        reason = outcome if isinstance(outcome, str) else getattr(outcome, "kind", "error")
        if isinstance(outcome, RassistError):
            self.emit("error", kind=outcome.kind, message=outcome.message, participant=participant.id)
        self.emit("left", participant=participant.id, peer=participant.peer_name, reason=reason,
                  **({"released": "control"} if held else {}))
        self.roster_changed()

    def invitation_closed(self) -> None:
        """An invitation expired, was withdrawn or failed: with nobody left, that is the end."""
        if self._running and not self.participants and not self._reserved and not self._closing \
                and (self.inviter is None or not self.inviter.open_invitations()):
            self._end("peer-left")

    def _end(self, outcome: str | Exception) -> None:
        if self._ended.done():
            return
        if isinstance(outcome, Exception):
            self._ended.set_exception(outcome)
        else:
            self._ended.set_result(outcome)

    async def _to_owner(self, cmd: dict[str, Any], key: str) -> None:
        first_error: CommandError | None = None
        for participant in self._everyone():
            if key not in participant.commands:
                continue
            try:
                result = participant.commands[key](cmd)
                if asyncio.iscoroutine(result):
                    await result
                return
            except CommandError as exc:
                first_error = first_error or exc
        raise first_error or CommandError(f"{key}: nobody is connected to do that with")

    def target(self, cmd: dict[str, Any], key: str) -> Participant:
        """The one participant a command is for (its \"to\", or the only one)."""
        targets = self._targets(cmd, key, one=True)
        return targets[0]

    def _targets(self, cmd: dict[str, Any], key: str, one: bool = False) -> list[Participant]:
        present = list(self.participants.values())
        to = cmd.get("to")
        if to is not None and to != "all":
            if not isinstance(to, str) or to not in self.participants:
                ids = ", ".join(self.participants) or "nobody"
                raise CommandError(f'no participant {to!r}: "to" takes one of {ids}')
            participant = self.participants[to]
            if key not in participant.commands and key not in self._commands:
                raise CommandError(f"{key} is not available for {participant.peer_name}")
            return [participant]
        able = [p for p in present if key in p.commands or key in self._commands]
        if not able:
            raise CommandError(f"{key}: nobody is connected to do that with")
        if len(able) == 1:
            return able
        if not one and (key in TO_EVERYONE or to == "all"):
            return able
        listing = ", ".join(f"{p.id} ({p.peer_name})" for p in able)
        raise CommandError(f'several helpers are here: say which with "to", one of {listing}')

    # ------------------------------------------------------------ the host's commands

    async def _invite_command(self, cmd: dict[str, Any]) -> None:
        if self.inviter is None:
            why = " (--max-joiners 1)" if self.max_joiners <= 1 and self.role == "host" else ""
            raise CommandError(f"this session cannot invite more helpers{why}")
        await self.inviter.invite()

    async def _withdraw_command(self, cmd: dict[str, Any]) -> None:
        if self.inviter is None:
            raise CommandError("this session has no invitations")
        if not isinstance(cmd["withdraw"], str):
            raise CommandError('withdraw takes the invitation\'s code, as in {"withdraw": "17-tulip-yeti"}')
        await self.inviter.withdraw(cmd["withdraw"])

    # ------------------------------------------------------------ the joiner's

    def _pass_command(self, cmd: dict[str, Any]) -> None:
        to = cmd.get("to")
        if cmd["pass"] not in ("control", True) or not isinstance(to, str):
            raise CommandError('pass takes "control" and a participant id: {"pass": "control", "to": "p2"}')
        if "control" not in self.first.granted:
            raise CommandError("you do not hold control")
        self.first.ctl.send({"t": "control-pass", "to": to})

    def _on_roster(self, msg: dict[str, Any]) -> None:
        entries = msg.get("participants")
        if not isinstance(entries, list):
            return
        roster = []
        for entry in entries[:MAX_ROSTER]:
            if not isinstance(entry, dict):
                return
            pid, name, perms = entry.get("id"), entry.get("name"), entry.get("permissions")
            if not (isinstance(pid, str) and isinstance(name, str) and isinstance(perms, list)):
                return
            roster.append({"id": pid[:16], "name": name[:MAX_NAME],
                           "permissions": [p for p in perms if isinstance(p, str)][:8],
                           "controller": entry.get("controller") is True})
        you = msg.get("you")
        self._roster = roster
        self.emit("participants", participants=roster, passing=msg.get("passing") is True,
                  **({"you": you[:16]} if isinstance(you, str) else {}))

    def _on_pass_refused(self, msg: dict[str, Any]) -> None:
        reason = msg.get("reason")
        self.emit("error", kind="control", message=f"control not passed: {str(reason)[:300]}")

    # ------------------------------------------------------------ both

    def _chat_command(self, cmd: dict[str, Any]) -> None:
        if not isinstance(cmd["chat"], str) or not cmd["chat"]:
            raise CommandError("chat takes a non-empty string")
        self.chat(cmd["chat"])

    async def _quit_command(self, cmd: dict[str, Any]) -> None:
        await self.close("quit")
