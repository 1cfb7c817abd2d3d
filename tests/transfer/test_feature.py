"""FilesFeature in two real in-process sessions (two aiortc peers): offers, answers, both lanes."""

import asyncio

import pytest

from rassist.errors import DeclinedError
from rassist.protocol import transfer as tp
from rassist.transfer.feature import FilesFeature
from rassist.transfer.scan import scan_paths
from tests.transfer.helpers import close_sessions, random_file, session_pair, sha256_of


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src" / "bundle"
    (src / "empty").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    digest = random_file(src / "deep" / "b.bin", 1_500_000)
    return src, digest


async def test_the_data_channel_lane_moves_a_tree(tmp_path, tree):
    src, digest = tree
    sender, receiver = FilesFeature(fast_lane=False), FilesFeature(tmp_path / "dst", auto_accept=True)
    host, join, host_events, join_events = await session_pair([sender], [receiver])
    try:
        result = await asyncio.wait_for(sender.offer_paths([src]), 60)
        assert result.lane == "datachannel" and result.moved == 1_500_005
        done = await join_events.wait("transfer-done")
        assert done["lane"] == "datachannel" and done["files"] == 2
        assert sha256_of(tmp_path / "dst" / "bundle" / "deep" / "b.bin") == digest
        assert (tmp_path / "dst" / "bundle" / "empty").is_dir()
        offer = join_events.named("file-offer")[0]
        assert (offer["files"], offer["dirs"], offer["size"], offer["name"]) == (2, 3, 1_500_005, "bundle")
        assert {e["path"] for e in host_events.named("file-done")} == {
            "bundle/a.txt", "bundle/deep/b.bin"}
    finally:
        await close_sessions(host, join)


async def test_the_fast_lane_is_used_when_both_sides_allow_it(tmp_path, tree):
    src, digest = tree
    sender, receiver = FilesFeature(), FilesFeature(tmp_path / "dst", auto_accept=True)
    host, join, _, join_events = await session_pair([sender], [receiver])
    try:
        result = await asyncio.wait_for(sender.offer_paths([src]), 30)
        assert result.lane == "tcp"
        assert (await join_events.wait("file-lane"))["lane"] == "tcp"
        assert sha256_of(tmp_path / "dst" / "bundle" / "deep" / "b.bin") == digest
    finally:
        await close_sessions(host, join)


async def test_a_receiver_without_the_fast_lane_gets_the_data_channel(tmp_path, tree):
    src, _ = tree
    sender = FilesFeature()
    receiver = FilesFeature(tmp_path / "dst", auto_accept=True, fast_lane=False)
    host, join, _, _ = await session_pair([sender], [receiver])
    try:
        assert (await asyncio.wait_for(sender.offer_paths([src]), 60)).lane == "datachannel"
    finally:
        await close_sessions(host, join)


async def test_offers_wait_for_accept_or_decline_commands(tmp_path, tree):
    src, _ = tree
    sender, receiver = FilesFeature(), FilesFeature(tmp_path / "dst")
    host, join, host_events, join_events = await session_pair([sender], [receiver])
    try:
        await host.handle_command({"send": str(src / "a.txt")})
        first = await join_events.wait("file-offer")
        assert first["name"] == "a.txt" and first["size"] == 5
        await join.handle_command({"decline": first["id"]})
        error = await host_events.wait("error", id=first["id"])
        assert error["kind"] == DeclinedError.kind
        assert not (tmp_path / "dst").exists()

        await host.handle_command({"send": [str(src / "a.txt")]})
        while len(join_events.named("file-offer")) < 2:
            await join_events.wait("file-offer")
            await asyncio.sleep(0.01)
        second = join_events.named("file-offer")[1]
        await join.handle_command({"accept": second["id"], "to": str(tmp_path / "elsewhere")})
        await join_events.wait("transfer-done", id=second["id"])
        assert (tmp_path / "elsewhere" / "a.txt").read_text() == "alpha"

        await join.handle_command({"accept": "0000000000000000"})
        assert "no pending offer" in (await join_events.wait("error", kind="command"))["message"]
        await host.handle_command({"send": str(tmp_path / "missing")})
        assert "missing" in (await host_events.wait("error", kind="command"))["message"]
    finally:
        await close_sessions(host, join)


async def test_a_joiner_needs_the_files_permission(tmp_path, tree):
    src, _ = tree
    host_files, join_files = FilesFeature(tmp_path / "host-dst", auto_accept=True), FilesFeature()
    host, join, host_events, join_events = await session_pair([host_files], [join_files], granted=set())
    try:
        await join.handle_command({"send": str(src)})
        assert "not granted" in (await join_events.wait("error", kind="command"))["message"]
        # A joiner that offers anyway (a modified client) is declined by the host.
        sneaky = tp.offer_for(scan_paths([src]).manifest, tp.new_offer_id())
        join.ctl.send(sneaky.to_json())
        assert (await host_events.wait("error", kind="permission"))["id"] == sneaky.id
        assert not (tmp_path / "host-dst").exists()
    finally:
        await close_sessions(host, join)


async def test_a_text_snippet_is_delivered(tmp_path):
    sender, receiver = FilesFeature(), FilesFeature(tmp_path, auto_accept=True)
    host, join, _, join_events = await session_pair([sender], [receiver])
    try:
        await asyncio.wait_for(sender.offer_text("kubectl get pods -A\n✓"), 10)
        assert (await join_events.wait("text"))["text"] == "kubectl get pods -A\n✓"
    finally:
        await close_sessions(host, join)


async def test_a_malformed_offer_is_declined_and_reported(tmp_path):
    host, join, _, join_events = await session_pair([FilesFeature()], [FilesFeature(tmp_path)])
    try:
        host.ctl.send({"t": tp.OFFER, "id": "0123456789abcdef", "key": "0" * 32, "files": 1,
                       "dirs": 0, "total": 1, "names": ["../../etc"], "more": 0})
        error = await join_events.wait("error", kind="protocol")
        assert "unsafe" in error["message"]
        assert not join_events.named("file-offer")
    finally:
        await close_sessions(host, join)
