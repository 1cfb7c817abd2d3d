"""Finding an embedded rendezvous server with no --server: same machine first, then the LAN.

The host that embeds a server announces it twice: a small file in a shared temp directory
(works with no network at all) and an mDNS service named after the nameplate (works across a
LAN). The joiner checks the file first, then asks mDNS for that one name."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ifaddr

from rassist.errors import TimedOut, Unreachable
from rassist.protocol.jsonwire import loads

if TYPE_CHECKING:
    from rassist.rendezvous.client import RendezvousClient

SERVICE_TYPE = "_rassist._tcp.local."


def registry_dir() -> Path:
    path = Path(os.environ.get("RASSIST_REGISTRY") or Path(tempfile.gettempdir()) / "rassist-embedded")
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(PermissionError):
            path.chmod(0o1777)  # sticky and shared: another user on this machine may join
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Announcement:
    """The host side: tells the machine and the LAN where its embedded server listens, under one
    name per open code (the first helper's and each open invitation's)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._live: dict[str, tuple[Path, asyncio.Task[Any]]] = {}  # slot -> its file, its mDNS entry
        self._spent: list[Path] = []  # earlier codes' entries, kept while this server runs
        self._zc: Any = None

    async def publish(self, nameplate: str, slot: str = "host") -> None:
        """Announce `nameplate`; the code that held `slot` before is retired."""
        await self.retire(slot)
        path = registry_dir() / f"{nameplate}-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"port": self.port, "pid": os.getpid()}))
        tmp.chmod(0o644)
        tmp.replace(path)
        self._live[slot] = (path, asyncio.ensure_future(self._publish_mdns(nameplate)))

    async def retire(self, slot: str) -> None:
        """Its code is no longer open. Its entry stays on this machine: a late joiner with it then
        reaches this server and hears that the code was used (exit 3), instead of waiting in vain."""
        entry = self._live.pop(slot, None)
        if entry is None:
            return
        path, mdns = entry
        self._spent.append(path)
        while len(self._spent) > 8:
            with contextlib.suppress(FileNotFoundError):
                self._spent.pop(0).unlink()
        info = await mdns
        if info is not None and self._zc is not None:
            with contextlib.suppress(Exception):
                await self._zc.async_unregister_service(info)  # its goodbyes go out in the background

    async def _publish_mdns(self, nameplate: str) -> Any:
        """The registered service, or None (no multicast here, or a clash: the file still works)."""
        from zeroconf import IPVersion, ServiceInfo
        from zeroconf.asyncio import AsyncZeroconf

        addresses = [socket.inet_aton(a) for a in lan_addresses()]
        if not addresses:
            return None
        try:
            if self._zc is None:
                self._zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
            info = ServiceInfo(SERVICE_TYPE, f"rassist-{nameplate}.{SERVICE_TYPE}",
                               addresses=addresses, port=self.port,
                               properties={"nameplate": nameplate, "v": "1"})
            # The second await: until its announcements are out (a goodbye sent while they still
            # go would be followed by one more announcement).
            await (await self._zc.async_register_service(info, allow_name_change=False))
            return info
        except Exception:
            return None

    async def close(self) -> None:
        for slot in list(self._live):
            await self.retire(slot)
        for path in self._spent:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._spent = []
        if self._zc is not None:
            with contextlib.suppress(Exception):
                await self._zc.async_close()
            self._zc = None


def lan_addresses() -> list[str]:
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                found.append(ip.ip)
    return found


def same_machine(nameplate: str) -> list[str]:
    """Server URLs announced on this machine for `nameplate`, newest first."""
    urls = []
    try:
        entries = sorted(registry_dir().glob(f"{nameplate}-*.json"),
                         key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    for entry in entries:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = loads(entry.read_text())
            if _alive(int(data["pid"])):
                urls.append(f"ws://127.0.0.1:{int(data['port'])}")
    return urls


async def on_lan(nameplate: str, timeout: float) -> list[str]:
    """Server URLs announced over mDNS for `nameplate`; empty if none within `timeout`."""
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    try:
        zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    except OSError:
        return []
    try:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            info = AsyncServiceInfo(SERVICE_TYPE, f"rassist-{nameplate}.{SERVICE_TYPE}")
            if await info.async_request(zc.zeroconf, int(min(left, 1.5) * 1000)):
                if info.properties.get(b"nameplate") == nameplate.encode():
                    return [f"ws://{addr}:{info.port}" for addr in info.parsed_addresses()]
        return []
    finally:
        await zc.async_close()


async def find_host(nameplate: str, timeout: float, on_wait: Callable[[], None]) -> RendezvousClient:
    """The embedded server of the host with this nameplate: this machine first, then the LAN.
    A host that has not started yet (a preset code) is awaited up to `timeout`; `on_wait` is
    called once it is clear that it is not here yet."""
    from rassist.rendezvous.client import connect_any

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    tried: set[str] = set()
    lan: asyncio.Future[list[str]] | None = None
    try:
        while True:
            fresh = [url for url in same_machine(nameplate) if url not in tried]
            tried.update(fresh)
            with contextlib.suppress(Unreachable):
                if fresh:
                    return await connect_any(fresh, min(timeout, 2.0))
            if lan is None:  # not on this machine (yet): ask the LAN too, meanwhile
                lan = asyncio.ensure_future(on_lan(nameplate, timeout))
                on_wait()
            if lan.done() and not lan.cancelled() and lan.exception() is None and lan.result():
                return await connect_any(lan.result(), timeout)
            left = deadline - loop.time()
            if left <= 0:
                break
            if lan.done():  # the LAN gave up (or has no multicast): keep checking this machine
                await asyncio.sleep(min(0.1, left))
            else:
                await asyncio.wait({lan}, timeout=min(0.1, left))  # wakes at once on an answer
    finally:
        if lan is not None:
            lan.cancel()
    raise TimedOut(f"nobody with code {nameplate}-... appeared on this machine or the LAN "
                   f"within {timeout:g} s; check the code, or use --server URL / RASSIST_SERVER")
