"""Start-up work our dependencies do that no command of ours needs, put off until it is needed.

- `importlib.metadata` (with csv, zipfile and more under it) is imported by websockets, for a
  version it reads only in a development checkout. Deferred: the module loads, unchanged, the
  first time anything uses it.
- `urllib.request` (with http.client and email under it) is imported by websockets for its proxy
  lookup, which rendezvous/reconnect.system_proxy skips where it is sure to find none. Deferred
  the same way.
- `multiprocessing` (with pickle under it) is imported by aiortc's VP8 codec, which asks it for
  the number of CPUs only when it builds a VP8 encoder (rassist's screen is H.264, and a
  recording's VP8 is PyAV's own). Deferred the same way.
- aioice imports its mDNS module, and with it dnspython (~8% of a join's start-up instructions),
  for peers that hide their addresses behind .local names (browsers do; rassist peers never do).
  A stand-in answers the one question aioice asks of every candidate (is_mdns_hostname, the same
  code) and has the one name its import reads; anything else loads the real module into it.
  Installed only where aioice's module reads exactly as expected.
- dnspython, where it does load, reads installed packages' metadata to learn whether `idna` is
  there; told the answer when it is certain (no `idna` to import at all), it does not look."""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from typing import Any

DEFERRED = ("importlib.metadata", "urllib.request", "multiprocessing")
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


# aioice/mdns.py as the stand-in below copies it (aioice 0.9 to 0.13 at least).
_MDNS_SOURCE = ('MDNS_HOSTNAME_RE = re.compile(r"^[a-zA-Z0-9-]{1,63}\\.local$")',
                "def is_mdns_hostname(name: str) -> bool:\n    return MDNS_HOSTNAME_RE.match(name) is not None",
                "class MDnsProtocol(")


def mdns_standin() -> types.ModuleType | None:
    """aioice.mdns as a deferred module that answers is_mdns_hostname without loading; None if
    aioice is not there or its mdns.py is not the one this copies."""
    import os
    import re

    found = importlib.util.find_spec("aioice")  # a top-level spec: aioice is not imported
    if found is None or not found.submodule_search_locations:
        return None
    path = os.path.join(list(found.submodule_search_locations)[0], "mdns.py")
    try:
        with open(path, encoding="utf-8") as source:
            text = source.read()
    except OSError:
        return None
    if not all(part in text for part in _MDNS_SOURCE):
        return None
    spec = importlib.util.spec_from_file_location("aioice.mdns", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    pattern = re.compile(r"^[a-zA-Z0-9-]{1,63}\.local$")

    def is_mdns_hostname(name: str) -> bool:
        return pattern.match(name) is not None

    class MDnsProtocol:  # only read by an annotation in aioice/ice.py
        pass

    module.MDNS_HOSTNAME_RE = pattern  # type: ignore[attr-defined]
    module.is_mdns_hostname = is_mdns_hostname  # type: ignore[attr-defined]
    module.MDnsProtocol = MDnsProtocol  # type: ignore[attr-defined]
    module.__class__ = _Deferred
    return module


def before_webrtc() -> None:
    """Before aiortc is first imported (transport/preload.py); nothing once aioice is."""
    if "aioice" in sys.modules or "aioice.mdns" in sys.modules:
        return
    standin = mdns_standin()
    if standin is not None:
        sys.modules["aioice.mdns"] = standin
        return  # dnspython loads only with the real module (which then asks about idna)
    answer_dnspython()


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
