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

import ifaddr

from rassist.protocol.jsonwire import loads

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
    """The host side: tells the machine and the LAN where its embedded server listens."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._file: Path | None = None
        self._zc = None
        self._info = None

    async def publish(self, nameplate: str) -> None:
        await self.withdraw()
        self._file = registry_dir() / f"{nameplate}-{os.getpid()}.json"
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"port": self.port, "pid": os.getpid()}))
        tmp.chmod(0o644)
        tmp.replace(self._file)
        asyncio.ensure_future(self._publish_mdns(nameplate))

    async def _publish_mdns(self, nameplate: str) -> None:
        from zeroconf import IPVersion, ServiceInfo
        from zeroconf.asyncio import AsyncZeroconf

        addresses = [socket.inet_aton(a) for a in lan_addresses()]
        if not addresses:
            return
        try:
            if self._zc is None:
                self._zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
            self._info = ServiceInfo(SERVICE_TYPE, f"rassist-{nameplate}.{SERVICE_TYPE}",
                                     addresses=addresses, port=self.port,
                                     properties={"nameplate": nameplate, "v": "1"})
            await self._zc.async_register_service(self._info, allow_name_change=False)
        except Exception:  # no multicast here, or a clash: the same-machine file still works
            self._info = None

    async def withdraw(self) -> None:
        if self._file is not None:
            with contextlib.suppress(FileNotFoundError):
                self._file.unlink()
            self._file = None
        if self._zc is not None and self._info is not None:
            with contextlib.suppress(Exception):
                await self._zc.async_unregister_service(self._info)
            self._info = None

    async def close(self) -> None:
        await self.withdraw()
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
