"""One JSON parser for bytes from a peer, a relay or a stranger.

json.loads recurses once per nesting level, so '[' * 5000 raises RecursionError (not a
ValueError) and a caller catching ValueError lets it escape. `loads` counts the nesting depth
first, in one pass of C-speed string operations, and turns every way parsing can go wrong into
a ValueError subclass. Every decoder of untrusted JSON uses it."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # our messages nest 4 deep at most
# Strings hide brackets; strip them (escapes included) before counting.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonError(ValueError):
    """Not JSON, too deeply nested, or not decodable as text."""


def loads(data: str | bytes | bytearray | memoryview, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON; raises only JsonError (a ValueError)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonError("not UTF-8") from None
    elif isinstance(data, str):
        text = data
    else:
        raise JsonError(f"not text: {type(data).__name__}")
    if _too_deep(text, max_depth):
        raise JsonError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise JsonError(f"not JSON: {str(exc)[:80]}") from None


def _too_deep(text: str, max_depth: int) -> bool:
    if text.count("[") + text.count("{") <= max_depth:
        return False  # the common case: too few brackets to matter, no scan at all
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    # Each pass removes the innermost pairs: what is left after max_depth passes nests deeper
    # (or does not pair up, which is not JSON either). C-speed passes, no Python loop per byte.
    for _ in range(max_depth):
        if not brackets:
            return False
        brackets = brackets.replace("[]", "").replace("{}", "")
    return bool(brackets)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number out of range: {text[:20]}")
    return value


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; they would slip through as floats that compare oddly.
    raise ValueError(f"{name} is not JSON")
