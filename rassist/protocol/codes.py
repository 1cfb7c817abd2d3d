"""Pairing codes: NAMEPLATE-word-word, words from the PGP word list shipped in the package."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from importlib import resources

from rassist.protocol.rendezvous import NAMEPLATE

MIN_WORDS = 2
MAX_WORDS = 8


@cache
def wordlists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(even words, odd words): 256 each; alternating them catches a swapped or dropped word."""
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


def parse_code(text: str) -> Code:
    """Parse what a person typed; raises ValueError with a message fit to show them."""
    cleaned = text.strip().lower().replace(" ", "-")
    parts = [p for p in cleaned.split("-")]
    if len(parts) < 1 + MIN_WORDS or any(not p for p in parts):
        raise ValueError(
            f"malformed code {text!r}: expected NUMBER-word-word, e.g. 7-crayon-walrus")
    nameplate, words = parts[0], tuple(parts[1:])
    if not NAMEPLATE.fullmatch(nameplate):
        raise ValueError(f"malformed code {text!r}: it must start with a number, e.g. 7-crayon-walrus")
    if len(words) > MAX_WORDS:
        raise ValueError(f"malformed code {text!r}: at most {MAX_WORDS} words")
    known = set().union(*wordlists())
    unknown = [w for w in words if w not in known]
    if unknown:
        raise ValueError(f"malformed code {text!r}: {', '.join(map(repr, unknown))} is not a code word")
    return Code(nameplate, words)

