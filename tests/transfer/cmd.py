"""How tests and the benchmark start `rassist send` / `rassist receive` as real processes.

Until rassist/cli/main.py registers the transfer commands, they are added on the fly;
afterwards this is plain `python -m rassist ...`."""

from __future__ import annotations

import sys
from typing import Any

from tests.procs import Proc

# Registers send/receive only if main.py has not already done it.
_LAUNCH = (
    "from rassist.cli.main import app; from rassist.cli import transfer; "
    "names = {c.name or c.callback.__name__ for c in app.registered_commands}; "
    "'send' in names or transfer.register(app); app(prog_name='rassist')"
)


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-c", _LAUNCH, *args]


def rassist(args: list[str], **kwargs: Any) -> Proc:
    return Proc(command(args), raw=True, **kwargs)
