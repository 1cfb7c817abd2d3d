"""The embedded server's announcements: one per open code (the first helper's and every open
invitation's), on this machine (a file) and on the LAN (mDNS); a retired code is gone from the
LAN but its file stays, so a late joiner hears that the code was used."""

from __future__ import annotations

import asyncio

import pytest

from rassist.rendezvous.local import Announcement, lan_addresses, on_lan, registry_dir, same_machine


@pytest.fixture(autouse=True)
def private_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path))


def test_every_open_code_is_announced_on_this_machine_and_a_retired_one_stays_there():
    async def run():
        a = Announcement(4567)
        await a.publish("81")
        await a.publish("82", slot="82")
        await a.publish("83", slot="83")
        assert all(same_machine(n) == ["ws://127.0.0.1:4567"] for n in ("81", "82", "83"))
        await a.retire("82")
        await a.publish("84")  # the host's own code replaced: 81 retired
        assert same_machine("82") == same_machine("81") == ["ws://127.0.0.1:4567"]
        await a.close()
        assert list(registry_dir().iterdir()) == []

    asyncio.run(run())


@pytest.mark.skipif(not lan_addresses(), reason="no LAN address on this machine: mDNS has no interface")
def test_every_open_invitation_is_on_the_lan_until_retired():
    async def run():
        a = Announcement(4568)
        try:
            await a.publish("91")
            await a.publish("92", slot="92")
            await a.publish("93", slot="93")
            for nameplate in ("91", "92", "93"):  # an older invitation is not hidden by a newer one
                urls = await on_lan(nameplate, 5)
                assert urls and all(u.endswith(":4568") for u in urls)
            await a.retire("92")
            assert await on_lan("92", 1.5) == []
            assert await on_lan("93", 5)
        finally:
            await a.close()

    asyncio.run(run())
