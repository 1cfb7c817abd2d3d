"""Plain option values without pydantic: typer's slow path avoided where it costs start-up.

Recent typer builds a pydantic TypeAdapter for every parameter of the command being run (for
`join` that is ~150 ms of a ~500 ms start). Our options are plain strings, flags, numbers with
bounds and paths: those are converted here directly. Anything else, and every value that is
invalid (so that the error message stays typer's own), goes to typer's usual machinery.
Without the typer internals this relies on, nothing is changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

_NO = object()  # "not handled here"
# A Path option whose flags are all these is converted without any check.
_PLAIN_PATH = {"exists": False, "file_okay": True, "dir_okay": True, "writable": False,
               "readable": True, "resolve_path": False, "allow_dash": False, "path_type": None}


def install() -> None:
    try:
        from typer import core
        from typer._coercion import RuntimeParam
    except ImportError:
        return
    original = getattr(core, "build_runtime_param", None)
    if original is None or getattr(original, "_rassist", False):
        return

    @dataclass(frozen=True)
    class PlainParam(RuntimeParam):  # type: ignore[misc]
        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            plain = convert(self.annotation, self.parameter_info, value)
            if plain is not _NO:
                return plain
            return original(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: Any) -> Any:
        info = descriptor.parameter_info
        if (descriptor.file_annotation is not None or getattr(info, "parser", None) is not None
                or getattr(info, "click_type", None) is not None):
            return original(descriptor)
        return PlainParam(parameter_info=info, annotation=descriptor.annotation,
                          descriptor=descriptor)

    build._rassist = True  # type: ignore[attr-defined]
    core.build_runtime_param = build


def convert(annotation: Any, info: Any, value: Any) -> Any:
    """`value` as `annotation`, or _NO if typer's own conversion should decide."""
    if get_origin(annotation) is list and isinstance(value, (list, tuple)):
        (item,) = get_args(annotation) or (Any,)
        items = [convert(item, info, v) for v in value]
        return _NO if any(i is _NO for i in items) else items
    if annotation is str:
        return value if isinstance(value, str) else _NO
    if annotation is bool:
        return value if isinstance(value, bool) else _NO
    if annotation in (int, float):
        return _number(annotation, info, value)
    if annotation is Path and all(getattr(info, k, v) == v for k, v in _PLAIN_PATH.items()):
        if isinstance(value, Path) or (isinstance(value, str) and "\x00" not in value):
            return Path(value)
        return _NO
    return _NO


def _number(kind: type, info: Any, value: Any) -> Any:
    if isinstance(value, bool):
        return _NO
    try:
        number = kind(value) if isinstance(value, (int, float, str)) else _NO
    except ValueError:
        return _NO
    if number is _NO or (kind is float and number != number):  # NaN: let typer say no
        return _NO
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if (low is not None and number < low) or (high is not None and number > high):
        return _NO  # typer clamps or explains
    return number
