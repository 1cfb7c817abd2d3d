"""The host's rules for its helpers, carried out: the table of protocol/roles.py (who holds
what, one controller, passing) applied through each participant's feature toggles, the
participants list told to everyone, and the host's commands about helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rassist.errors import CommandError
from rassist.protocol.roles import Action, Ask, Grant, RoleError, Roles

if TYPE_CHECKING:
    from rassist.participant import Participant
    from rassist.session import CommandHandler, Session


class HostRules:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.roles = Roles()
        self._told: list[dict[str, Any]] | None = None  # the participants list as last told

    def commands(self) -> dict[str, CommandHandler]:
        return {"grant": self._grant_command, "revoke": self._revoke_command, "remove": self._remove_command,
                "passing": self._passing_command, "participants": self._participants_command}

    # ------------------------------------------------------------ what the session calls

    def join(self, participant: Participant) -> list[str]:
        """A newcomer in the table; returns notes on what it could not get."""
        participant.granted, notes = self.roles.join(participant.id, participant.granted)
        return notes

    def leave(self, participant: Participant) -> bool:
        """Gone from the table; True if it held control."""
        return self.roles.leave(participant.id)

    def admissible(self, granted: tuple[str, ...]) -> tuple[set[str], list[str]]:
        """What an approved newcomer can hold now (control stays with its holder)."""
        self._sync()
        return self.roles.admissible(granted)

    async def grant(self, participant: Participant, name: str) -> None:
        """Give `name` to a helper through the table: control leaves whoever holds it first."""
        self._sync()
        try:
            actions = self.roles.grant(participant.id, name)
        except RoleError as exc:
            raise CommandError(str(exc)) from None
        await self._carry_out(actions)

    def roster_changed(self) -> None:
        """Everyone learns who is in the session, with which permissions."""
        self._sync()
        roster = self.roster()
        if roster == self._told:
            return
        self._told = roster
        self.session.emit("participants", participants=roster, passing=self.roles.passing)
        for participant in self.session.participants.values():
            participant.ctl.send({"t": "participants", "participants": roster, "you": participant.id,
                                  "passing": self.roles.passing})

    def roster(self) -> list[dict[str, Any]]:
        controller = self.roles.controller
        return [{"id": p.id, "name": p.peer_name, "permissions": sorted(p.granted),
                 "controller": p.id == controller} for p in self.session.participants.values()]

    async def on_pass(self, giver: Participant, msg: dict[str, Any]) -> None:
        """The controller hands control on ({"t": "control-pass", "to": ID}), if the host allows."""
        taker = msg.get("to")
        self._sync()
        try:
            if not isinstance(taker, str):
                raise RoleError("pass control to whom? name a participant id")
            actions = self.roles.pass_control(giver.id, taker)
        except RoleError as exc:
            giver.ctl.send({"t": "pass-refused", "reason": str(exc)[:300]})
            return
        try:
            await self._carry_out(actions)
        except CommandError as exc:
            giver.ctl.send({"t": "pass-refused", "reason": exc.message[:300]})
            self.session.emit("error", kind="control", message=exc.message, participant=giver.id)
            return
        self.session.emit("control", state="passed", participant=giver.id, peer=giver.peer_name, to=taker)

    # ------------------------------------------------------------ inside

    def _sync(self) -> None:
        """The features' truth (a grant that failed, a revoke on their own) into the table."""
        for participant in self.session.participants.values():
            self.roles.sync(participant.id, participant.granted)

    async def _carry_out(self, actions: list[Action]) -> None:
        participants = self.session.participants
        for action in actions:
            participant = participants.get(action.who)
            if participant is None or isinstance(action, Ask):
                continue
            if action.permission not in participant.permissions:
                self.roles.sync(participant.id, participant.granted)
                raise CommandError(f"{action.permission} cannot be changed for {participant.peer_name} "
                                   "in this session")
            grant, revoke = participant.permissions[action.permission]
            try:
                await (grant() if isinstance(action, Grant) else revoke())
            finally:
                self.roles.sync(participant.id, participant.granted)
        self.roster_changed()

    async def _grant_command(self, cmd: dict[str, Any]) -> None:
        participant = self.session.target(cmd, "grant")
        name, _ = participant.permission(cmd, "grant")
        await self.grant(participant, name)

    async def _revoke_command(self, cmd: dict[str, Any]) -> None:
        participant = self.session.target(cmd, "revoke")
        name, _ = participant.permission(cmd, "revoke")
        self._sync()
        try:
            actions = self.roles.revoke(participant.id, name)
        except RoleError:
            raise CommandError(f"{name} is not granted") from None
        await self._carry_out(actions)

    async def _remove_command(self, cmd: dict[str, Any]) -> None:
        participants = self.session.participants
        who = cmd["remove"]
        if who is True and len(participants) == 1:
            who = next(iter(participants))
        participant = participants.get(who) if isinstance(who, str) else None
        if participant is None:
            ids = ", ".join(participants) or "nobody"
            raise CommandError(f'remove takes a participant id, one of {ids}, as in {{"remove": "p1"}}')
        await participant.say_bye("removed")
        participant.end("removed")

    def _passing_command(self, cmd: dict[str, Any]) -> None:
        value = cmd["passing"]
        allowed = {True: True, False: False, "on": True, "off": False, "yes": True, "no": False}.get(value)
        if allowed is None:
            raise CommandError("passing takes true or false: may the controller hand control on?")
        self.roles.passing = allowed
        self._told = None  # say it again even if nobody changed
        self.roster_changed()

    def _participants_command(self, cmd: dict[str, Any]) -> None:
        self.session.emit("participants", participants=self.roster(), passing=self.roles.passing)
