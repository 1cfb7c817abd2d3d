"""The start-up fast path: `rassist join`, `send` and `receive` command lines read without typer.

Importing typer and building its command costs ~40-50 ms of CPU on every start, a sixth of a join
and a third of a send's wait for its code; a receiver's start is on the way of every transfer.
The common command lines of these commands are read here instead, by a reader that takes only
what it is sure of: long options it knows, one value each, plain numbers within their bounds,
the one positional argument. Anything else (any `--help`, an unknown or misspelt option, `--`, a
value that looks like an option, a number out of bounds or in an unusual spelling, a bool
variable it does not know) returns None, and the command line goes to typer as before, so
errors, help and suggestions stay typer's own.

tests/cli/test_fastargs.py holds this reader to typer's: every command line accepted here must
give exactly the values typer gives."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

FLAG, TEXT, NUMBER, PATH, DIR, TEXTS, PATHS, INTEGER = range(8)  # kinds of value
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_INTEGER = re.compile(r"[0-9]+")
# What typer's flags take from an environment variable (anything else: typer decides).
_BOOLS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
          "off": False}


class Spec:
    """One command's parameters: `options` maps each option string to (parameter, kind, bounds);
    `argument` is the positional parameter and its kind (TEXTS, PATHS: any number of them);
    `envvars` maps parameters to the environment variable that fills them when the command
    line does not; `defaults` are the values of everything not given."""

    def __init__(self, options: dict[str, tuple[str, int, tuple[float | None, float | None]]],
                 defaults: dict[str, Any], argument: tuple[str, int] | None = None,
                 envvars: dict[str, str] | None = None) -> None:
        self.options = options
        self.defaults = defaults
        self.argument = argument
        self.envvars = envvars or {}
        self.kinds = {param: kind for param, kind, _ in options.values()}
        self.bounds = {param: bounds for param, _, bounds in options.values()}
        if argument is not None:
            self.kinds[argument[0]] = argument[1]


_ANY = (None, None)
_COMMON = {
    "--server": ("server", TEXT, _ANY),
    "--json": ("json_mode", FLAG, _ANY),
    "--name": ("name", TEXT, _ANY),
    "--timeout": ("timeout", NUMBER, (0.1, None)),
    "--no-fast-lane": ("no_fast_lane", FLAG, _ANY),
    "--peer-timeout": ("peer_timeout", NUMBER, (1.0, None)),
    "--relay-only": ("relay_only", FLAG, _ANY),
    "--no-record": ("no_record", FLAG, _ANY),
    "--title": ("title", TEXT, _ANY),
    "--tag": ("tag", TEXTS, _ANY),
}
_COMMON_DEFAULTS = {"server": None, "json_mode": False, "name": None, "timeout": 10.0,
                    "no_fast_lane": False, "peer_timeout": 8.0, "relay_only": False,
                    "no_record": False, "title": None, "tag": []}
_COMMON_ENV = {"server": "RASSIST_SERVER", "no_fast_lane": "RASSIST_NO_FAST_LANE",
               "no_record": "RASSIST_NO_RECORD"}

# As declared for typer in session_commands.join_command and cli/common.py.
JOIN = Spec(
    {**_COMMON,
     "--control": ("control", FLAG, _ANY),
     "--files": ("files", FLAG, _ANY),
     "--no-tui": ("no_tui", FLAG, _ANY),
     "--record": ("record", PATH, _ANY),
     "--download-dir": ("download_dir", DIR, _ANY),
     "-o": ("download_dir", DIR, _ANY),
     "--resume-window": ("resume_window", NUMBER, (0.0, None))},
    {**_COMMON_DEFAULTS, "code": None, "control": False, "files": False, "no_tui": False,
     "record": None, "download_dir": None, "resume_window": 120.0},
    argument=("code", TEXT), envvars={**_COMMON_ENV, "code": "RASSIST_CODE"})

# As declared for typer in cli/transfer.send and cli/common.py (MIN_WORDS, MAX_WORDS: protocol/codes.py).
SEND = Spec(
    {**_COMMON,
     "--text": ("text", TEXT, _ANY),
     "--code": ("code", TEXT, _ANY),
     "--code-length": ("code_length", INTEGER, (2, 8)),
     "--limit-rate": ("limit_rate", TEXT, _ANY)},
    {**_COMMON_DEFAULTS, "paths": None, "text": None, "code": None, "code_length": 2, "limit_rate": None},
    argument=("paths", PATHS), envvars=_COMMON_ENV)

# As declared for typer in cli/transfer.receive and cli/common.py.
RECEIVE = Spec(
    {**_COMMON,
     "--output": ("output", PATH, _ANY),
     "-o": ("output", PATH, _ANY),
     "--yes": ("yes", FLAG, _ANY),
     "-y": ("yes", FLAG, _ANY),
     "--overwrite": ("overwrite", FLAG, _ANY)},
    {**_COMMON_DEFAULTS, "code": None, "output": Path("."), "yes": False, "overwrite": False},
    argument=("code", TEXT), envvars={**_COMMON_ENV, "code": "RASSIST_CODE"})


def parse(spec: Spec, args: Sequence[str], environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The parameters of a command line (without the command's name), or None: typer's to read."""
    values = {k: list(v) if isinstance(v, list) else v for k, v in spec.defaults.items()}
    given: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            positional.append(arg)
            continue
        name, inline, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        option = spec.options.get(name)
        if option is None:
            return None  # --help, --, an unknown option, -x, ...
        param, kind, bounds = option
        if kind == FLAG:
            if inline:
                return None
            values[param] = True
        else:
            if not inline:
                if i == len(args):
                    return None
                value = args[i]
                i += 1
            converted = _value(kind, value, bounds)
            if converted is None:
                return None
            if kind in (TEXTS, PATHS):
                values[param].append(converted)
            else:
                values[param] = converted
        given.add(param)
    if positional:
        if spec.argument is None:
            return None
        argument, kind = spec.argument
        if kind in (TEXTS, PATHS):
            converted_all = [_value(kind, p, _ANY) for p in positional]
            if any(c is None for c in converted_all):
                return None
            values[argument] = converted_all
        elif len(positional) > 1:
            return None
        else:
            converted = _value(kind, positional[0], _ANY)
            if converted is None:
                return None
            values[argument] = converted
        given.add(argument)
    for param, variable in spec.envvars.items():
        raw = environ.get(variable)
        if param in given or not raw:  # an empty variable counts as unset
            continue
        kind = spec.kinds.get(param, TEXT)
        if kind == FLAG:
            flag = _BOOLS.get(raw)
            if flag is None:
                return None
            values[param] = flag
        elif kind in (TEXTS, PATHS):
            return None
        else:
            converted = _value(kind, raw, spec.bounds.get(param, _ANY))
            if converted is None:
                return None
            values[param] = converted
    return values


def _value(kind: int, text: str, bounds: tuple[float | None, float | None]) -> Any:
    """`text` as `kind`, or None if typer should decide (it may refuse, or read it otherwise)."""
    if not text or text.startswith("-") or "\x00" in text:
        return None
    if kind in (TEXT, TEXTS):
        return text
    if kind in (NUMBER, INTEGER):
        if not (_INTEGER if kind == INTEGER else _NUMBER).fullmatch(text):
            return None
        number: float = int(text) if kind == INTEGER else float(text)
        low, high = bounds
        if (low is not None and number < low) or (high is not None and number > high):
            return None
        return number
    # Paths: one that exists must be readable (and with DIR, not a file), as typer checks.
    if os.path.lexists(text):
        if not os.access(text, os.R_OK) or (kind == DIR and not os.path.isdir(text)):
            return None
    return Path(text)


def command(argv: Sequence[str], environ: Mapping[str, str]) -> Callable[[], None] | None:
    """The command of `argv` (sys.argv) ready to run, if this reader can take its command line."""
    if len(argv) < 2 or argv[1] not in _COMMANDS:
        return None
    spec, runner = _COMMANDS[argv[1]]
    values = parse(spec, argv[2:], environ)
    if values is None:
        return None
    return lambda: runner()(**values)


def _join() -> Callable[..., None]:
    from rassist.cli.joining import join_session

    return join_session


def _send() -> Callable[..., None]:
    from rassist.cli.sending import send_files

    return send_files


def _receive() -> Callable[..., None]:
    from rassist.cli.receiving import receive_files

    return receive_files


_COMMANDS: dict[str, tuple[Spec, Callable[[], Callable[..., None]]]] = {
    "join": (JOIN, _join), "send": (SEND, _send), "receive": (RECEIVE, _receive)}
