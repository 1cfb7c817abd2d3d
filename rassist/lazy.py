"""A module imported the first time one of its names is used, not when the module naming it is.

A joiner builds its session's features before it connects, but what most of them import (the
parsers of their messages: ~25 ms of dataclasses and regexes, on the way to `connected`) is used
only once a message or a command comes. Such a feature names its parser module this way:

    if TYPE_CHECKING:
        from rassist.protocol import input as wire
    else:
        wire = LazyModule("rassist.protocol.input")

so that type checkers see the real module. Loading is the ordinary import (importlib, with its
locks): a module reached through here and one imported as usual are the same object."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name`; imports it when an attribute is first asked for."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r}, {state}>"

