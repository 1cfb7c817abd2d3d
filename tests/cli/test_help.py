"""--help teaches: no Python type noise, examples at the end, words that fit the command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WITH_EXAMPLES = ("server", "host", "join", "snapshot", "send", "receive")


def help_of(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "rassist", *args, "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def commands() -> list[str]:
    listed = help_of().split("Commands", 1)[1]
    return re.findall(r"^│ (\w[\w-]*) ", listed, re.M)


def test_no_python_types_in_any_help() -> None:
    assert set(WITH_EXAMPLES) <= set(commands())
    for command in ["", *commands()]:
        text = help_of(*([command] if command else []))
        noise = re.findall(r"<(?:bool|str|int|float|Path|list\[[^\]]*\]|int range|float range)>", text)
        assert not noise, (command, noise)


def test_each_command_ends_its_description_with_examples() -> None:
    for command in WITH_EXAMPLES:
        text = help_of(command)
        description = text.split("╭", 1)[0]
        assert "Examples:" in description, command
        examples = [line for line in description.split("Examples:", 1)[1].splitlines()
                    if "rassist " + command in line]
        assert 2 <= len(examples) <= 3, (command, examples)


def test_send_and_receive_help_do_not_talk_about_a_host() -> None:
    for command in ("send", "receive"):
        assert "host" not in help_of(command).lower().replace("hostname", ""), command
