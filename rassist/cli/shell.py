"""`rassist host --shell`: the shell runs for as long as the host wants, helpers come and go.

The shell starts first (its output is recorded from the first byte), then codes are handed out
one at a time: when a helper leaves or the link dies, a fresh code is printed for the next one,
who sees the current screen at once. The sharing ends when the shell ends (every helper is told
why), when the host leaves (Ctrl-] q, {"quit": true}, /quit) or on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from rassist.cli.console import Lines
from rassist.cli.drive import Approval, parse_line
from rassist.cli.output import Output
from rassist.errors import ConnectionLost
from rassist.pairing import Host, HostOptions
from rassist.protocol.pairing import PeerHello
from rassist.records.recorder import Recorder
from rassist.session import Feature, Session
from rassist.terminal.control import ShellControl
from rassist.protocol.display import visible, visible_event
from rassist.terminal.host import HostTerminal
from rassist.terminal.local import HELP, SHORT_HELP, LocalTerminal

_SPELLED = {"view": "watch the shell", "control": "type into the shell", "files": "exchange files"}


@dataclass
class ShellHost:
    argv: list[str]
    options: Callable[[list[Feature]], HostOptions]   # pairing options around these features
    more_features: Callable[[], list[Feature]]         # built afresh for every helper (files)
    cast: Path | None
    interactive: bool                                  # our terminal shows the shell
    auto: bool = False
    allowed: set[str] = field(default_factory=set)
    title: str | None = None
    once: bool = False                                 # one helper, then the sharing ends
    recorder: Recorder | None = None                   # the ticket: every helper's visit, the shell's text


class KeyApproval:
    """Approval by the rassist key (Ctrl-] y / v / n) while the terminal belongs to the shell."""

    def __init__(self, notice: Callable[[str], None], auto: bool, allowed: set[str]) -> None:
        self.notice = notice
        self.auto = auto
        self.allowed = allowed | {"view"}
        self.pending: asyncio.Future[str] | None = None

    async def __call__(self, hello: PeerHello) -> tuple[str, ...] | None:
        if self.auto:
            return tuple(p for p in hello.wants if p in self.allowed)
        wants = ", ".join(_SPELLED.get(p, p) for p in hello.wants) or "chat only"
        self.notice(f"{visible(hello.name)} wants to: {wants}. "
                    "Press Ctrl-] y to allow all of that, Ctrl-] v for view only, Ctrl-] n to decline.")
        self.pending = asyncio.get_running_loop().create_future()
        try:
            answer = await self.pending
        finally:
            self.pending = None
        if answer == "y":
            return hello.wants
        if answer == "v":
            return tuple(p for p in hello.wants if p == "view")
        return None

    def answer(self, letter: str) -> bool:
        if self.pending is None or self.pending.done():
            return False
        self.pending.set_result(letter)
        return True


def notice_text(event: str, f: dict[str, Any]) -> str | None:
    """Events as one plain line for the host's terminal (peer text made safe)."""
    peer = visible(str(f.get("peer", "the helper")))
    if event == "code":
        return f"code {f['code']}: the helper runs `rassist join {f['code']}`\n({SHORT_HELP})"
    if event == "connected":
        return f"{peer} is watching this shell; allowed: {', '.join(f.get('granted', [])) or 'nothing'}."
    if event == "control":
        return {"granted": f"{peer} MAY TYPE into this shell (Ctrl-] r to revoke).",
                "revoked": f"{peer} can no longer type.",
                "declined": f"declined {peer}'s request to type."}.get(f.get("state", ""))
    if event == "control-request":
        return f"{peer} asks to type into this shell: Ctrl-] g to allow."
    if event == "chat" and f.get("from") != "me":
        return f"{visible(str(f.get('from')))}: {visible(str(f.get('text', '')))}"
    if event == "input-refused":
        return f"refused {f.get('count')} key(s) from {peer}: {f.get('message')}"
    if event == "left":
        return f"{peer} left ({f.get('reason')}); a new code follows."
    if event == "record":
        return f"recording this sharing as ticket {f.get('id')} (rassist tickets show ID; --no-record to skip)"
    if event in ("error", "cast"):
        return visible(str(f.get("message") or f"recording to {f.get('path')}"))
    return None


async def run_shell_host(cfg: ShellHost, out: Output) -> int:
    loop = asyncio.get_running_loop()
    current: dict[str, Any] = {"session": None, "control": None}
    done: asyncio.Future[str] = loop.create_future()
    local: LocalTerminal | None = None
    approval: Any

    def finish(reason: str) -> None:
        if not done.done():
            done.set_result(reason)
        session = current["session"]
        if session is not None:
            asyncio.ensure_future(session.close(reason))

    if cfg.interactive:
        def on_key(letter: str) -> None:
            control: ShellControl | None = current["control"]
            if approval.answer(letter):
                return
            try:
                if letter == "q":
                    finish("quit")
                elif letter == "g" and control is not None:
                    control.grant()
                elif letter == "r" and control is not None:
                    control.revoke()
                else:
                    local.notice(HELP if current["session"] else f"{HELP} (nobody is connected yet)")
            except Exception as exc:  # noqa: BLE001 - a refused command is a notice, never a crash
                local.notice(visible(str(getattr(exc, "message", exc))))

        local = LocalTerminal(on_key)
        # The host's terminal closing (an ssh link dropping) ends the sharing cleanly, recording
        # flushed, instead of killing us mid-write.
        import signal

        loop.add_signal_handler(signal.SIGHUP, lambda: finish("hangup"))

        def emit(event: str, **fields: Any) -> None:
            text = notice_text(event, visible_event(event, fields))  # peer text: no escapes
            if text:
                local.notice(text)
        if cfg.recorder is not None:  # out.emit is not in this path: the ticket hears these
            emit = cfg.recorder.wrap(emit)
        approval = KeyApproval(local.notice, cfg.auto, cfg.allowed)
        reader = None
    else:
        emit = out.emit
        lines = Lines()
        handoff = _Handoff()
        approval = Approval(out, handoff, cfg.auto, cfg.allowed)  # type: ignore[arg-type]
        reader = asyncio.ensure_future(_commands(lines, handoff, current, emit, finish, out.json_mode))

    term = HostTerminal(cfg.argv, local.size() if local else (80, 24), cfg.cast, local, cfg.title)
    term.on_exit = lambda status: finish("shell-exited")
    try:
        await term.open(emit)
        while not done.done():
            control = ShellControl()
            features: list[Feature] = [*([cfg.recorder] if cfg.recorder else []), term, control,
                                        *cfg.more_features()]
            pairing = asyncio.ensure_future(Host(cfg.options(features), emit, approval).run())
            await asyncio.wait({pairing, done}, return_when=asyncio.FIRST_COMPLETED)
            if not pairing.done():
                # Python 3.11's wait_for can swallow a cancellation that lands as its inner call
                # completes (pairing then waits for a joiner forever): cancel until it is gone.
                while not pairing.done():
                    pairing.cancel()
                    await asyncio.wait({pairing}, timeout=0.5)
                with contextlib.suppress(BaseException):
                    pairing.result()
                break
            session = pairing.result()  # an error here (--once, a bad --code) ends the command
            current.update(session=session, control=control)
            reason = await _one_session(session, emit)
            current.update(session=None, control=None)
            if reason in ("quit", "shell-exited") or cfg.once:
                finish(reason)
            elif not done.done():
                emit("left", peer=session.peer_name, reason=reason)
        reason = done.result() if done.done() else "quit"
    finally:
        if reader is not None:
            reader.cancel()
        await term.close()
    out.emit("closed", reason=reason)
    return 0


class _Handoff:
    """The approval prompt's lines: only those typed while it is asking (a line typed earlier
    must never answer a later joiner's request)."""

    def __init__(self) -> None:
        self.waiter: asyncio.Future[str | None] | None = None

    async def next(self) -> str | None:
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            return await self.waiter
        finally:
            self.waiter = None

    def offer(self, line: str | None) -> bool:
        if self.waiter is None or self.waiter.done():
            return False
        self.waiter.set_result(line)
        return True


async def _one_session(session: Session, emit: Callable[..., None]) -> str:
    try:
        await session.start()
        return await session.run()
    except ConnectionLost as exc:
        emit("error", kind=exc.kind, message=exc.message)
        return exc.kind


async def _commands(lines: Lines, handoff: _Handoff, current: dict[str, Any], emit: Callable[..., None],
                    finish: Callable[[str], None], json_mode: bool) -> None:
    """stdin for the whole run: the approval prompt's answers, then the session's commands."""
    while (line := await lines.next()) is not None:
        if handoff.offer(line):
            continue
        try:
            cmd = parse_line(line, json_mode)
        except ValueError as exc:
            emit("error", kind="command", message=f"malformed command: {exc}")
            continue
        if cmd is None:
            continue
        if "quit" in cmd:
            finish("quit")
            return
        session: Session | None = current["session"]
        if session is None:
            emit("error", kind="command", message="nobody is connected yet; only quit works now")
        else:
            await session.handle_command(cmd)
    handoff.offer(None)


def plain_renderers() -> dict[str, Callable[[dict[str, Any]], str | None]]:
    """Human lines for `host --shell` without a terminal of its own (plain line mode)."""
    return {
        "shell": lambda f: f"Sharing [bold]{escape(' '.join(f['command']))}[/] ({f['cols']}x{f['rows']}).",
        "cast": lambda f: f"Recording to {escape(f['path'])}",
        "left": lambda f: f"{escape(str(f.get('peer')))} left ({escape(str(f.get('reason')))}); waiting for someone else.",
        "shell-exit": lambda f: f"The shell ended with status {f.get('status')}.",
        "term-size": lambda f: None,
    }


async def host_shell_command(out: Output, json_mode: bool, name: str, server: str | None, timeout: float,
                             code: str | None, code_length: int, once: bool, peer_timeout: float,
                             relay_only: bool, yes: bool, allow: list[str], download_dir: Path | None,
                             fast_lane: bool, cast: Path | None, command: list[str] | None,
                             no_tui: bool = False, recorder: Recorder | None = None,
                             resume_window: float = 120.0) -> int:
    """What `rassist host --shell` runs (options already parsed by typer)."""
    import os
    import sys

    from rassist.cli import common
    from rassist.cli.transfer_view import files_renderers
    from rassist.features import files_feature
    from rassist.cli.feature_lines import host_renderers
    from rassist.terminal.cast import default_cast_path
    from rassist.terminal.pty import default_command

    allowed = common.parse_permissions(allow)
    # --no-tui keeps the terminal for lines (chat, /grant, /quit): the shell runs unseen here.
    interactive = not (json_mode or no_tui) and sys.stdin.isatty() and sys.stdout.isatty() and os.name == "posix"
    if not interactive:
        out.renderers.update(host_renderers() | files_renderers() | plain_renderers())

    preset = [code]  # a code is good for one helper only: the next one gets a fresh code

    def options(features: list[Feature]) -> HostOptions:
        return HostOptions(name=name, server=server, timeout=timeout, code=preset.pop() if preset else None,
                           code_length=code_length, once=once, peer_timeout=peer_timeout,
                           relay_only=relay_only, features=features, resume_window=resume_window)

    cfg = ShellHost(argv=list(command or default_command()), options=options,
                    more_features=lambda: [files_feature(download_dir, fast_lane)],
                    cast=cast or default_cast_path(), interactive=interactive,
                    auto=yes or bool(allowed), allowed=allowed, once=once, recorder=recorder)
    return await run_shell_host(cfg, out)
