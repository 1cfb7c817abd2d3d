"""Hypothesis strategies for hostile input: what a peer, a relay or a stranger could send.

Random bytes and text, random JSON, deep nesting, huge numbers, wrong types in valid
messages, and valid messages cut short."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

garbage = st.binary(max_size=300) | st.text(max_size=300)

huge_numbers = (st.integers(min_value=2**63, max_value=10**4000) | st.integers(max_value=-(2**63), min_value=-(10**4000))
                | st.sampled_from([1e308, -1e308, 5e-324, 2**53 + 1]))

json_scalars = st.none() | st.booleans() | st.integers() | huge_numbers | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)

json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=25)


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    """JSON text nested far deeper than any message of ours, in several shapes."""
    depth = draw(st.integers(min_value=33, max_value=20_000))
    shape = draw(st.sampled_from(["list", "object", "mixed", "open"]))
    if shape == "list":
        return "[" * depth + "]" * depth
    if shape == "object":
        return '{"a":' * depth + "1" + "}" * depth
    if shape == "mixed":
        return '{"t":"x","v":' + '[{"a":' * depth + "0" + "}]" * depth + "}"
    return "[" * depth  # never closed


def to_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@st.composite
def wrong_types(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """`valid` with some fields given random values (or removed), and maybe extra fields."""
    msg = dict(valid)
    for key in draw(st.lists(st.sampled_from(sorted(valid)), min_size=1, max_size=len(valid), unique=True)):
        if draw(st.booleans()):
            msg[key] = draw(json_values)
        else:
            del msg[key]
    msg.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return msg


@st.composite
def truncated(draw: st.DrawFn, valid: bytes) -> bytes:
    """A valid encoding cut short (never the whole of it)."""
    return valid[:draw(st.integers(min_value=0, max_value=max(0, len(valid) - 1)))]


def hostile_json_text(valid: dict[str, Any]) -> st.SearchStrategy[str | bytes]:
    """Everything above, as the text or bytes a decoder receives."""
    raw = to_text(valid).encode()
    return st.one_of(garbage, json_values.map(to_text), deep_nesting(), huge_numbers.map(str),
                     wrong_types(valid).map(to_text), truncated(raw))
