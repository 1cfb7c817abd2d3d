"""Plain and --json modes: stdin lines become commands, the session's events go to Output."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rassist.cli.console import Lines
from rassist.cli.output import Output, escape
from rassist.errors import CommandError, ConnectionLost
from rassist.protocol.display import visible
from rassist.protocol.jsonwire import loads
from rassist.protocol.pairing import PeerHello
from rassist.protocol.permissions import PERMISSIONS
from rassist.session import Session


_TARGETED = {"grant", "revoke", "pass"}
_PARTICIPANT = re.compile(r"p[0-9]{1,6}")


def parse_line(line: str, json_mode: bool) -> dict[str, Any] | None:
    """A stdin line as a command object; None for a blank line. Raises ValueError if malformed.

    Plain mode: "/name arg" is {"name": arg} ("/quit" is {"quit": true}); other text is chat."""
    if not line.strip():
        return None
    if json_mode:
        cmd = loads(line)
        if not isinstance(cmd, dict):
            raise ValueError("a command must be a JSON object")
        return cmd
    if line.startswith("/") and not line.startswith("//"):
        name, _, arg = line[1:].partition(" ")
        words = arg.split()
        # "/grant control p2": a permission for one of several helpers (ids are p1, p2, ...).
        if name in _TARGETED and len(words) == 2 and _PARTICIPANT.fullmatch(words[1]):
            return {name: words[0], "to": words[1]}
        return {name: arg.strip() or True}
    return {"chat": line[1:] if line.startswith("//") else line}


def answer_early(out: Output, lines: Lines) -> None:
    """--json: until drive() starts, a command that nobody (such as the approval prompt) is
    waiting for is answered at once with an error instead of waiting, unanswered, for a
    connection. That includes an approval ({"approve": ...}) with no request pending: consent
    answers only a request that was shown, so it is never kept for a later one. Plain mode
    keeps what a person types and sends it once connected."""
    if not out.json_mode:
        return

    def early(line: str) -> bool:
        try:
            cmd = parse_line(line, True)
        except ValueError as exc:
            out.emit("error", kind="command", message=f"malformed command: {exc}")
            return True
        if cmd is None:  # a blank line is nothing
            return True
        if "approve" in cmd:
            out.emit("error", kind="command", message="no request is pending: that approval was ignored "
                     "(answer a \"request\" event with its id)")
            return True
        out.emit("error", kind="command",
                 message=f"not connected yet: {next(iter(cmd), '?')!r} was not done (commands work "
                         "once the \"connected\" event is out)")
        return True

    lines.unclaimed = early


async def drive(session: Session, out: Output, lines: Lines) -> int:
    """Run a connected session until it ends; returns the exit code."""
    lines.unclaimed = None  # from now on every line is a command of this session
    reader = asyncio.ensure_future(_commands(session, out, lines))
    try:
        await session.start()
        reason = await session.run()
    except ConnectionLost as exc:
        out.emit("error", kind=exc.kind, message=exc.message)
        out.emit("closed", reason=exc.kind)
        return exc.exit_code
    finally:
        reader.cancel()
    out.emit("closed", reason=reason)
    return 0


async def _commands(session: Session, out: Output, lines: Lines) -> None:
    while (line := await lines.next()) is not None:
        try:
            cmd = parse_line(line, out.json_mode)
        except ValueError as exc:
            out.emit("error", kind="command", message=f"malformed command: {exc}")
            continue
        if cmd is not None:
            await session.handle_command(cmd)
    if not out.json_mode and lines.interactive:
        await session.close("quit")  # Ctrl-D at a terminal means goodbye


_SPELLED = {"view": "view your screen", "control": "control your mouse and keyboard",
            "files": "exchange files", "annotate": "point and draw on your screen"}


class Approval:
    """How the host decides on a joiner: in advance (--yes / --allow), or by asking."""

    def __init__(self, out: Output, lines: Lines, auto: bool, allowed: set[str]) -> None:
        self.out = out
        self.lines = lines
        self.auto = auto
        self.allowed = allowed | {"view"}
        self._pending: dict[str, tuple[asyncio.Future[tuple[str, ...] | None], PeerHello]] = {}

    def attach(self, session: Session) -> None:
        """Once the session runs, its line reader owns stdin: a further helper (invited) is
        approved with a command, {"approve": ..., "id": ID} (plain: /approve, /approve view,
        /approve no), answered by later()."""
        session.add_command("approve", self._answer)

    async def later(self, hello: PeerHello) -> tuple[str, ...] | None:
        """pairing.Host's approver for invited helpers (the "request" event is out already)."""
        if self.auto:
            return tuple(p for p in hello.wants if p in self.allowed)
        future: asyncio.Future[tuple[str, ...] | None] = asyncio.get_running_loop().create_future()
        self._pending[hello.request_id] = (future, hello)
        if not self.out.json_mode:
            wants = ", ".join(_SPELLED[p] for p in hello.wants) or "chat only"
            self.out.console.print(
                f"\n[bold]Someone with an invitation asks to join.[/]\n"
                f"  Their name, as they give it: \"{escape(visible(hello.name))}\"\n"
                f"  This person wants to: [bold]{wants}[/]\n"
                "Type [bold]/approve[/] for all of that, [bold]/approve view[/] for view only, "
                "[bold]/approve no[/] to refuse.")
        try:
            return await future
        finally:
            self._pending.pop(hello.request_id, None)

    def _answer(self, cmd: dict[str, Any]) -> None:
        rid = cmd.get("id")
        if rid is None and not self.out.json_mode and len(self._pending) == 1:
            rid = next(iter(self._pending))  # plain mode: the one question on the screen
        if rid not in self._pending:
            if not self._pending:
                raise CommandError("no request is pending: that approval was ignored")
            raise CommandError(f'that answer names no pending request (pending: {", ".join(self._pending)}); '
                               'answer with {"approve": ..., "id": ID}')
        future, hello = self._pending[rid]
        answer = cmd["approve"]
        if answer is True or answer in ("yes", "y"):
            result: tuple[str, ...] | None = hello.wants
        elif answer is False or answer in ("no", "n"):
            result = None
        elif answer in ("view", "v"):
            result = tuple(p for p in hello.wants if p == "view")
        elif isinstance(answer, list) and all(p in PERMISSIONS for p in answer):
            result = tuple(p for p in hello.wants if p in answer)
        else:
            raise CommandError('approve takes true, false or a list of permissions such as ["view", "files"]')
        if not future.done():
            future.set_result(result)

    async def __call__(self, hello: PeerHello) -> tuple[str, ...] | None:
        if self.auto:
            return tuple(p for p in hello.wants if p in self.allowed)
        return await (self._ask_json(hello) if self.out.json_mode else self._ask(hello))

    async def _ask(self, hello: PeerHello) -> tuple[str, ...] | None:
        wants = ", ".join(_SPELLED[p] for p in hello.wants) or "chat only"
        # The name is the peer's: shown visibly (no escapes) and quoted, on a line of its own,
        # so it can neither restyle nor imitate the line that says what is asked. What was
        # typed before the question appears cannot answer it (forgotten just before it shows).
        self.lines.discard_pending()
        self.out.console.print(
            f"\n[bold]Someone with the code asks to join.[/]\n"
            f"  Their name, as they give it: \"{escape(visible(hello.name))}\"\n"
            f"  This person wants to: [bold]{wants}[/]\n"
            "Allow? [bold]y[/] = all of that, [bold]v[/] = view only, [bold]N[/] = no: ", end="")
        answer = (await self.lines.next() or "").strip().lower()
        if answer in ("y", "yes"):
            return hello.wants
        if answer in ("v", "view"):
            return tuple(p for p in hello.wants if p == "view")
        return None

    async def _ask_json(self, hello: PeerHello) -> tuple[str, ...] | None:
        # The "request" event is out; wait for {"approve": true|false|[permissions], "id": ID}.
        # The id is random and new with each request: an answer sent before it (nothing was
        # pending) or meant for another cannot name it, so it is refused, never kept.
        while (line := await self.lines.next()) is not None:
            try:
                cmd = parse_line(line, True)
            except ValueError as exc:
                self.out.emit("error", kind="command", message=f"malformed command: {exc}")
                continue
            if not cmd:
                continue
            if "approve" in cmd and cmd.get("id") != hello.request_id:
                self.out.emit("error", kind="command", message=(
                    "that answer names no pending request (sent before it, or without its id): "
                    f'ignored; answer with {{"approve": ..., "id": "{hello.request_id}"}}'))
                continue
            answer = cmd.get("approve")
            if answer is True:
                return hello.wants
            if answer is False:
                return None
            if isinstance(answer, list) and all(p in PERMISSIONS for p in answer):
                return tuple(p for p in hello.wants if p in answer)
            self.out.emit("error", kind="command",
                          message=f'waiting for {{"approve": true, "id": "{hello.request_id}"}} (or false, '
                                  'or a list of permissions such as ["view", "files"])')
        return None
