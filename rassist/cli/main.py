"""The `rassist` command: one typer app, one module per command group.

Start-up is paid on every run, so only the module of the command being run is imported:
`rassist send ...` never loads the code of `host`, `doctor` or `tickets`. Anything else (no
command, `--help`, `--version`, a mistyped name) gets the full app, so help, suggestions and
errors stay typer's own. The usual command lines of `join`, `send` and `receive` skip typer
(fastargs.py): this module imports it only when it is needed."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# Start-up creates ~100k objects (modules, classes, functions) and no garbage to speak of, yet
# the cyclic collector would walk them dozens of times (~25 ms of a join's CPU). It is off for
# the first seconds of every command, then back on for good, whatever the command does.
GC_PAUSE = 3.0

HELP = ("Remote assistance from the command line: share a screen, chat, move files, "
        "hand over control. Peer to peer, end-to-end encrypted, paired by a short code.")

# Command name -> (module, how it registers), in the order `rassist --help` lists them.
COMMANDS: dict[str, tuple[str, Callable[[typer.Typer, Any], None]]] = {
    "server": ("rassist.cli.server_command", lambda app, m: app.command()(m.server)),
    "host": ("rassist.cli.session_commands", lambda app, m: app.command()(m.host)),
    "join": ("rassist.cli.session_commands", lambda app, m: app.command("join")(m.join_command)),
    "snapshot": ("rassist.cli.snapshot", lambda app, m: m.register(app)),
    "send": ("rassist.cli.transfer", lambda app, m: app.command()(m.send)),
    "receive": ("rassist.cli.transfer", lambda app, m: app.command()(m.receive)),
    "doctor": ("rassist.cli.doctor", lambda app, m: m.register(app)),
    "tickets": ("rassist.cli.tickets", lambda app, m: m.register(app)),
}


def _version(value: bool) -> None:
    import typer

    if value:
        from rassist import __version__

        typer.echo(f"rassist {__version__}")
        raise typer.Exit()


def build(names: list[str] | None = None) -> typer.Typer:
    """The app with the commands in `names` (all of them if None)."""
    import typer

    def _options(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print the version and exit."),
    ) -> None:
        """Remote assistance from the command line: share a screen, chat, move files, hand over
        control. Peer to peer, end-to-end encrypted, paired by a short code."""

    app = typer.Typer(name="rassist", help=HELP, no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False)
    app.callback()(_options)
    for name in names or list(COMMANDS):
        module, register = COMMANDS[name]
        register(app, importlib.import_module(module))
    return app


def _wanted(argv: list[str]) -> list[str] | None:
    """Only the command named first on the command line, if it is one of ours."""
    return [argv[1]] if len(argv) > 1 and argv[1] in COMMANDS else None


def __getattr__(name: str) -> Any:
    if name == "app":  # `from rassist.cli.main import app`: the full app, built once
        app = globals()["app"] = build()
        return app
    raise AttributeError(name)


def main() -> None:
    gc.disable()
    resume = threading.Timer(GC_PAUSE, gc.enable)
    resume.daemon = True
    resume.start()
    from rassist.startup import defer_unused_modules

    defer_unused_modules()
    from rassist.cli import fastargs

    fast = fastargs.command(sys.argv, os.environ)
    if fast is None:
        from rassist.cli import fastparams
        from rassist.cli.helptext import quiet_types

        quiet_types()
        fastparams.install()
    try:
        if fast is None:
            build(_wanted(sys.argv))()
        else:
            fast()
    except SystemExit as done:
        _exit(done.code)
    except (EOFError, KeyboardInterrupt):
        if fast is None:
            raise
        print("\nAborted!", file=sys.stderr)  # as typer says it (Ctrl-C before the command's loop runs)
        _exit(1)
    _exit(0)


def _exit(code: object) -> None:
    """The command has returned: its event loop and its `finally` blocks have closed what it
    opened (daemon threads aside). Tearing the interpreter down module by module (~150 ms with
    aiortc loaded) would only keep the user from the prompt, so leave at once."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
    status = code if isinstance(code, int) else 0 if code is None else 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # a closed pipe: nobody reads what is left
    os._exit(status)
