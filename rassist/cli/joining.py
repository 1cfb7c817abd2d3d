"""`rassist join`'s work, once its command line is parsed (by typer in session_commands.py, or
by the start-up fast path in fastargs.py). No typer here: this module is on the fast path."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rassist.cli import values
from rassist.cli.output import Output
from rassist.cli.run import run
from rassist.errors import UsageError

if TYPE_CHECKING:
    from rassist.session import Session

# aiortc and friends load inside the command (on a worker thread while it pairs).


class Live:
    """The session once there is one, so Ctrl-C can close it politely."""

    session: "Session | None" = None
    hooks = None  # rassist.tui.hooks.TuiHooks while a TUI is open

    def interrupt(self) -> bool:
        if self.hooks is not None:
            return self.hooks.interrupt()
        if self.session is None:
            return False
        import asyncio

        asyncio.ensure_future(self.session.close("quit"))
        return True


def join_session(code: str | None, server: str | None, json_mode: bool, name: str | None, timeout: float,
                 control: bool, files: bool, no_tui: bool, record: Path | None, download_dir: Path | None,
                 no_fast_lane: bool, peer_timeout: float, resume_window: float, relay_only: bool,
                 no_record: bool, title: str | None, tag: list[str]) -> None:
    """Connect to a host with `code` and run the session until it ends (raises SystemExit)."""
    from rassist.crypto.pake_process import preload_here, start_for

    pake = start_for(code)  # SPAKE2 on another core while this process loads WebRTC
    out = Output(json_mode)
    live = Live()
    from rassist.records.attach import attach

    recorder = attach(out, "join", "join", values.default_name(name), title, tag, not no_record)

    async def main() -> int:
        if not code:
            raise UsageError("no code given: rassist join CODE (or set RASSIST_CODE)")
        values.writable_dir(download_dir, "--download-dir")
        import asyncio

        from rassist.features import JOIN_MODULES, join_features
        from rassist.transport import preload

        preload.start(preload_here(pake) + JOIN_MODULES)  # WebRTC and the features' modules load while we pair
        from rassist.cli.console import Lines
        from rassist.cli.drive import answer_early, drive
        from rassist.pairing import JoinOptions, join

        wants = ("view",) + (("control",) if control else ()) + (("files",) if files else ())
        tui = tui_wanted(json_mode, no_tui)
        view = None  # plain mode on a terminal draws the screen with rich
        extra: list = []
        if tui:
            from rassist.tui.hooks import TuiHooks
            from rassist.tui.stats import LinkStats

            live.hooks = TuiHooks()
            extra = [LinkStats(fps=live.hooks.fps)]
        elif not json_mode and sys.stderr.isatty():
            from rassist.media.render import TerminalView

            view = TerminalView(out.console)
        on_frame = live.hooks.on_frame if tui else view.on_frame if view else None
        terminal = None  # shows a shared shell; made here only if the TUI or a tty needs it now
        shell_view = None  # a shared shell drawn straight into this terminal (plain mode)
        plain_tty = not tui and not json_mode and sys.stdin.isatty() and sys.stdout.isatty()
        if tui or plain_tty:
            from rassist.terminal.join import JoinTerminal

            terminal = JoinTerminal(events=json_mode, on_update=live.hooks.on_term if tui else None)
        if tui:
            live.hooks.terminal = terminal
        if plain_tty:
            from rassist.terminal.view import PlainView, StatusSink

            shell_view = PlainView(terminal, lambda cmd: live.session.handle_command(cmd))
            out.console = type(out.console)(file=StatusSink(shell_view), highlight=False)

        async def features() -> list:
            await preload.ready(JOIN_MODULES)
            from rassist.terminal.join import JoinTerminal

            shell = terminal or JoinTerminal(events=json_mode)
            return join_features(record, on_frame, download_dir=download_dir,
                                 fast_lane=not (no_fast_lane or relay_only), terminal=shell) + extra

        later = asyncio.ensure_future(features())
        if record is not None:
            await later  # --record's file name is checked before anything connects
        opts = JoinOptions(name=values.default_name(name), server=server, timeout=timeout, wants=wants,
                           peer_timeout=peer_timeout, relay_only=relay_only, resume_window=resume_window,
                           features=[recorder] if recorder else [], later=later, pake=pake)
        if tui:
            from rassist.tui import run_join_tui

            return await run_join_tui(code, opts, live.hooks)
        lines = Lines(shell_view.lines_stream if shell_view else None)  # only now: it would steal the TUI's keys
        if shell_view is not None:
            lines.interactive = True  # Ctrl-D still means goodbye
        answer_early(out, lines)
        if not json_mode:  # lines for people (--json prints events as they are)
            from rassist.cli.feature_lines import annotate_renderers, join_renderers
            from rassist.cli.participant_lines import participant_renderers
            from rassist.cli.transfer_view import files_renderers
            from rassist.terminal.join import term_renderers

            out.renderers.update(join_renderers() | files_renderers() | annotate_renderers() | term_renderers()
                                 | participant_renderers())
        if view is not None:  # the picture is drawn on request, between the chat lines
            out.renderers["screen"] = lambda f: (f"The host's screen is coming ({f.get('width')}x{f.get('height')}): "
                                                 "type [bold]/screen[/] to see it.")
        try:
            live.session = await join(code, opts, out.emit)
            if view is not None:
                live.session.add_command("screen", view.show)
            return await drive(live.session, out, lines)
        finally:
            if view is not None:
                view.stop()
            if shell_view is not None:
                shell_view.stop()

    run(out, main, live.interrupt, after=(recorder and recorder.close,))


def tui_wanted(json_mode: bool, no_tui: bool) -> bool:
    """The TUI opens on a terminal unless --json or --no-tui says otherwise."""
    return not json_mode and not no_tui and sys.stdout.isatty() and sys.stdin.isatty()
