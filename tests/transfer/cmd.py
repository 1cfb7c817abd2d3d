"""How tests and the benchmark start `rassist send` / `rassist receive` as real processes:
`python -m rassist ...`, the same entry point as the installed command (start-up, exit)."""

from __future__ import annotations

import sys
from typing import Any

from tests.procs import Proc


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "rassist", *args]


def rassist(args: list[str], **kwargs: Any) -> Proc:
    return Proc(command(args), raw=True, **kwargs)
