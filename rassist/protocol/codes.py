"""Pairing codes: NAMEPLATE-word-word, words from the PGP word list shipped in the package."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rassist.protocol.rendezvous import NAMEPLATE

MIN_WORDS = 2
MAX_WORDS = 8


@cache
def wordlists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(even words, odd words): 256 each; alternating them catches a swapped or dropped word."""
    try:  # beside this file, as a wheel installs it (importlib.resources costs start-up time)
        text = Path(__file__).with_name("words.txt").read_text("utf-8")
    except OSError:  # the package is not on disk (a zip): importlib.resources finds it there
        from importlib import resources

        text = resources.files("rassist.protocol").joinpath("words.txt").read_text("utf-8")
    words = [line for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(words[:256]), tuple(words[256:])


@dataclass(frozen=True)
class Code:
    nameplate: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return "-".join((self.nameplate, *self.words))


def make_code(nameplate: str, length: int = MIN_WORDS) -> Code:
    if not MIN_WORDS <= length <= MAX_WORDS:
        raise ValueError(f"code length must be between {MIN_WORDS} and {MAX_WORDS} words")
    even, odd = wordlists()
    words = tuple(secrets.choice(odd if i % 2 == 0 else even) for i in range(length))
    return Code(nameplate, words)


EXAMPLE = "583-positive-kickoff"


def parse_code(text: str) -> Code:
    """Parse what a person typed; raises ValueError with a message fit to show them.
    Spaces around the code are ignored; spaces between its parts count as dashes."""
    cleaned = "-".join(text.strip().lower().split())
    shown = repr(text.strip())
    parts = cleaned.split("-")
    if len(parts) < 1 + MIN_WORDS or any(not p for p in parts):
        raise ValueError(f"malformed code {shown}: expected NUMBER-word-word, e.g. {EXAMPLE}")
    nameplate, words = parts[0], tuple(parts[1:])
    if not NAMEPLATE.fullmatch(nameplate):
        if not nameplate.isdigit():
            why = f"it must start with a number, e.g. {EXAMPLE}"
        elif nameplate.startswith("0"):
            why = "its number never starts with 0 (codes start at 1)"
        else:
            why = f"its number has at most 6 digits, not {len(nameplate)}"
        raise ValueError(f"malformed code {shown}: {why}")
    if len(words) > MAX_WORDS:
        raise ValueError(f"malformed code {shown}: at most {MAX_WORDS} words")
    known = set().union(*wordlists())
    unknown = [w for w in words if w not in known]
    if unknown:
        listed = ", ".join(map(repr, unknown))
        verb = "is not a code word" if len(unknown) == 1 else "are not code words"
        raise ValueError(f"malformed code {shown}: {listed} {verb} (codes look like {EXAMPLE})")
    return Code(nameplate, words)
