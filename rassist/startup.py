"""Start-up work our dependencies do that no command of ours needs, put off until it is needed.

`importlib.metadata` (with email, csv and zipfile under it: ~10 ms of CPU) is imported by
websockets (for a version it only reads in a development checkout) and by dnspython (via aioice),
which also reads installed packages' metadata to learn whether `idna` is there (~10 ms more) as it
is imported. Deferred here: the module loads, unchanged, the first time anything uses it, and
dnspython is told the answer to its question when the answer is certain (no `idna` to import at
all means its metadata lookup could only say no)."""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from typing import Any

DEFERRED = ("importlib.metadata",)
_LOAD = threading.RLock()  # one load at a time; the loading thread may look itself up meanwhile


class _Deferred(types.ModuleType):
    """A module whose code has not run yet: it runs, into this very module object, the first
    time an attribute it does not have is asked for. Its import attributes (__spec__,
    __name__, __path__...) are there from the start, so `import x` of it loads nothing (the
    stdlib's LazyLoader loads on any attribute, __spec__ included, so on the import itself)."""

    def __getattr__(self, name: str) -> Any:
        with _LOAD:
            if type(self) is _Deferred:
                self.__class__ = types.ModuleType  # loaded from now on, even if its code fails
                self.__spec__.loader.exec_module(self)  # type: ignore[union-attr]
        return types.ModuleType.__getattribute__(self, name)


def defer_unused_modules() -> None:
    """Install deferred stand-ins for the DEFERRED modules not imported yet."""
    for name in DEFERRED:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)  # the import attributes, not the code
        module.__class__ = _Deferred
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:  # what `import a.b` sets on `a`
            setattr(sys.modules[parent], child, module)


def answer_dnspython() -> None:
    """Before aioice imports dnspython: without an importable `idna`, its "idna" feature is
    off, as its own metadata lookup would find; say so, so that it does not look."""
    if "dns.name" in sys.modules or importlib.util.find_spec("idna") is not None:
        return
    try:
        import dns._features as features
    except ImportError:
        return
    force = getattr(features, "force", None)
    if callable(force):
        force("idna", False)
