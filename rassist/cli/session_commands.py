"""`rassist host` and `rassist join` (its work is in joining.py, typer-free for the start-up
fast path)."""

from __future__ import annotations

from pathlib import Path

import typer

from rassist.cli import common
from rassist.cli.joining import Live, tui_wanted, join_session
from rassist.cli.output import Output
from rassist.cli.run import run
from rassist.protocol.codes import MAX_WORDS, MIN_WORDS

# aiortc and friends load inside the commands: `rassist --help` and start-up stay fast.


def host(
    server: str | None = common.ServerOpt,
    json_mode: bool = common.JsonOpt,
    name: str | None = common.NameOpt,
    timeout: float = common.TimeoutOpt,
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve joiners without asking (view only, "
                                                         "plus what --allow lists)."),
    allow: list[str] = typer.Option([], "--allow", metavar="PERMS",
                                    help="Grant these in advance, without asking: control, files "
                                         "(comma-separated or repeated). Implies --yes."),
    code: str | None = typer.Option(None, "--code", envvar="RASSIST_CODE",
                                    help="Use this code (NUMBER-word-word) instead of a fresh one."),
    code_length: int = typer.Option(2, "--code-length", min=MIN_WORDS, max=MAX_WORDS,
                                    help="Words in a generated code; more words, harder to guess."),
    once: bool = typer.Option(False, "--once", help="Stop after the first pairing attempt, "
                                                    "successful or not, instead of issuing a new code."),
    no_tui: bool = typer.Option(False, "--no-tui", help="Plain line mode even on a terminal."),
    monitor: int | None = typer.Option(None, "--monitor", min=1, metavar="N",
                                       help="Share monitor N (see --list-monitors). Default: the primary."),
    list_monitors: bool = typer.Option(False, "--list-monitors", help="List the monitors and exit."),
    download_dir: Path | None = common.DownloadDirOpt,
    no_fast_lane: bool = common.NoFastLaneOpt,
    peer_timeout: float = common.PeerTimeoutOpt,
    resume_window: float = common.ResumeWindowOpt,
    relay_only: bool = common.RelayOnlyOpt,
    shell: bool = typer.Option(False, "--shell", help="Share a terminal instead of the screen: run "
                                                       "your shell (or COMMAND after --) in a pseudo-"
                                                       "terminal that helpers watch, and type into "
                                                       "with control. Works without a display."),
    cast: Path | None = typer.Option(None, "--cast", metavar="FILE", dir_okay=False,
                                     help="With --shell: record the terminal to this asciicast v2 "
                                          "file. Default: ~/.local/share/rassist/casts/."),
    command: list[str] | None = typer.Argument(None, metavar="COMMAND", show_default=False,
                                               help="With --shell: the program to share (after --) instead of $SHELL."),
    no_record: bool = common.NoRecordOpt,
    title: str | None = common.TitleOpt,
    tag: list[str] = common.TagOpt,
    record: Path | None = typer.Option(None, "--record", metavar="FILE",
                                       help="Record the screen you share to FILE (.mkv, .mp4 or .webm)."),
    max_joiners: int = typer.Option(4, "--max-joiners", min=1, metavar="N",
                                    help="Helpers in the session at once (/invite brings in more)."),
    invite_ttl: float = typer.Option(600.0, "--invite-ttl", min=1.0, metavar="SECONDS",
                                     help="How long an unused invitation (/invite) stays valid."),
) -> None:
    """Share this machine: print a code, wait for a helper, approve them, chat.

    The helper runs `rassist join CODE`. In plain mode each line you type is sent as chat;
    /quit leaves. With --json, stdin takes commands such as {"chat": "hi"} and {"approve": true}.

    Examples:
      rassist host                            # prints a code; you approve whoever joins
      rassist host --allow control,files      # grant control and files without asking
      rassist host --json --yes --once        # for scripts: JSON events, one pairing

    Several helpers: once the first is connected, /invite (or {"invite": true}) gives a
    one-time code for one more, up to --max-joiners.
    """
    out = Output(json_mode)
    live = Live()
    if list_monitors:
        run(out, lambda: _list_monitors(out))
    if command and not shell:
        raise typer.BadParameter("a COMMAND is only taken with --shell", param_hint="COMMAND")
    if cast and not shell:
        raise typer.BadParameter("--cast records a shared terminal: use it with --shell", param_hint="--cast")
    from rassist.records.attach import attach

    recorder = attach(out, "host", "host", common.default_name(name), title, tag, not no_record)
    if shell:
        from rassist.cli.shell import host_shell_command

        run(out, lambda: host_shell_command(out, json_mode, common.default_name(name), server, timeout, code,
                                            code_length, once, peer_timeout, relay_only, yes, allow,
                                            download_dir, not (no_fast_lane or relay_only), cast, command,
                                            no_tui, recorder, resume_window),
            after=(recorder and recorder.close,))

    async def main() -> int:
        from rassist.cli.console import Lines
        from rassist.cli.drive import Approval, answer_early, drive
        from rassist.features import HostFeatures
        from rassist.cli.transfer_view import files_renderers
        from rassist.cli.feature_lines import annotate_renderers, host_renderers
        from rassist.pairing import Host, HostOptions

        allowed = common.parse_permissions(allow)
        common.writable_dir(download_dir, "--download-dir")
        tui = tui_wanted(json_mode, no_tui)
        if tui:
            from rassist.tui.hooks import TuiHooks

            live.hooks = TuiHooks()
        # In the TUI a later request for control becomes a dialog; otherwise an event.
        factory = HostFeatures(monitor, ask=live.hooks.ask_control if tui else None,
                               download_dir=download_dir, fast_lane=not (no_fast_lane or relay_only))
        features = factory.participant()  # the first helper's; invited ones get their own
        shared: list = ([recorder] if recorder else []) + factory.shared  # the session's, whoever comes and goes
        if record is not None:
            from rassist.media.host_record import HostRecording

            shared.append(HostRecording(record, monitor))
        opts = HostOptions(name=common.default_name(name), server=server, timeout=timeout,
                           code=code, code_length=code_length, once=once, peer_timeout=peer_timeout,
                           relay_only=relay_only, features=features, shared=shared, resume_window=resume_window,
                           more=factory.participant, max_joiners=max_joiners, invite_ttl=invite_ttl)
        if tui:
            from rassist.tui import run_host_tui
            from rassist.tui.stats import LinkStats

            opts.features.append(LinkStats())
            opts.more = lambda: [*factory.participant(), LinkStats()]  # every helper's link in the pane
            return await run_host_tui(opts, live.hooks, auto=yes or bool(allowed), allowed=allowed)
        lines = Lines()  # only now: its stdin thread would steal the TUI's keys
        answer_early(out, lines)
        from rassist.cli.participant_lines import participant_renderers

        out.renderers.update(host_renderers() | files_renderers() | annotate_renderers() | participant_renderers())
        from rassist.features import no_display

        if (reason := no_display(features)) is not None:  # say it now, not once someone joined
            out.emit("screen", state="unavailable", message=reason)
        approve = Approval(out, lines, auto=yes or bool(allowed), allowed=allowed)
        pairing = Host(opts, out.emit, approve)
        pairing.approve_more = approve.later
        live.session = await pairing.run()
        approve.attach(live.session)
        return await drive(live.session, out, lines)

    run(out, main, live.interrupt, after=(recorder and recorder.close,))


def join_command(
    code: str | None = typer.Argument(None, envvar="RASSIST_CODE", show_default=False,
                                      help="The code the host gave you, e.g. 583-positive-kickoff "
                                           "(or set RASSIST_CODE)."),
    server: str | None = common.ServerOpt,
    json_mode: bool = common.JsonOpt,
    name: str | None = common.NameOpt,
    timeout: float = common.TimeoutOpt,
    control: bool = typer.Option(False, "--control", help="Ask the host for control of mouse and keyboard."),
    files: bool = typer.Option(False, "--files", help="Ask the host for permission to exchange files."),
    no_tui: bool = typer.Option(False, "--no-tui", help="Plain line mode even on a terminal."),
    record: Path | None = typer.Option(None, "--record", metavar="FILE",
                                       help="Record the received screen to FILE (.mkv, .mp4 or .webm)."),
    download_dir: Path | None = common.DownloadDirOpt,
    no_fast_lane: bool = common.NoFastLaneOpt,
    peer_timeout: float = common.PeerTimeoutOpt,
    resume_window: float = common.ResumeWindowOpt,
    relay_only: bool = common.RelayOnlyOpt,
    no_record: bool = common.NoRecordOpt,
    title: str | None = common.TitleOpt,
    tag: list[str] = common.TagOpt,
) -> None:
    """Connect to a host with the code it printed; see its screen and chat.

    In plain mode each line you type is sent as chat; /screen shows the host's screen; /quit
    leaves. With --json, stdin takes commands such as {"chat": "hi"} and {"quit": true}.

    Examples:
      rassist join 583-positive-kickoff       # screen, chat, files in a terminal UI
      rassist join 583-positive-kickoff --control --files
      RASSIST_CODE=583-positive-kickoff rassist join --no-tui
    """
    join_session(code, server, json_mode, name, timeout, control, files, no_tui, record, download_dir,
                 no_fast_lane, peer_timeout, resume_window, relay_only, no_record, title, tag)


async def _list_monitors(out: Output) -> int:
    from rassist.media.capture import list_monitors

    out.renderers["monitor"] = lambda m: (f"{m['index']}: {m['width']}x{m['height']} at +{m['left']}+{m['top']}"
                                          + (" (primary)" if m["primary"] else ""))
    for m in list_monitors():
        out.emit("monitor", **m.describe())
    return 0
