"""Sender and Receiver over a real pinned TLS connection: trees, resume, integrity, hostility."""

import asyncio
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rassist.protocol import transfer as tp
from rassist.protocol import transfer_frames as fr
from rassist.protocol.transfer_manifest import Entry, make_manifest
from rassist.transfer.receiver import Receiver
from rassist.transfer.scan import scan_paths
from rassist.transfer.sender import Sender
from rassist.transfer.staging import STAGING_PREFIX, TransferError
from rassist.transfer.stream import StreamClosed
from tests.transfer.helpers import Events, random_file, sha256_of, tls_pair

OFFER_ID = "00112233445566aa"


async def hello(stream):
    """What the sender's side does before Sender.run: read the receiver's HELLO."""
    decoder = fr.FrameDecoder()
    events = []
    while not events:
        events = decoder.feed(await stream.read())
    assert events.pop(0).json() == {"offer": OFFER_ID}
    return decoder, events


async def transfer(paths, target, overwrite=False, limit_rate=None):
    scan = scan_paths(paths)
    offer = tp.offer_for(scan.manifest, OFFER_ID)
    server, client = await tls_pair()
    send_events, recv_events = Events(), Events()
    receiver = Receiver(offer, target, recv_events, overwrite)

    async def send():
        decoder, early = await hello(server)
        return await Sender(offer, scan, send_events, limit_rate=limit_rate).run(server, decoder, early)

    sent, received = await asyncio.wait_for(asyncio.gather(send(), receiver.run(client)), 60)
    return sent, received, send_events, recv_events


async def test_a_tree_with_empty_files_dirs_unicode_and_exec_bits(tmp_path):
    src = tmp_path / "src" / "Größe 数据"
    (src / "empty dir").mkdir(parents=True)
    (src / "sub").mkdir()
    (src / "zero").write_bytes(b"")
    digest = random_file(src / "sub" / "blob 🎉.bin", 3 << 20)
    (src / "tool").write_text("#!/bin/sh\n")
    os.chmod(src / "tool", 0o750)
    sent, received, send_events, recv_events = await transfer([src], tmp_path / "dst")
    out = tmp_path / "dst" / "Größe 数据"
    assert sha256_of(out / "sub" / "blob 🎉.bin") == digest
    assert (out / "zero").read_bytes() == b"" and (out / "empty dir").is_dir()
    assert os.stat(out / "tool").st_mode & 0o100
    assert received.lane == sent.lane == "tcp"
    assert received.moved == sent.moved == (3 << 20) + 10
    done = {e["path"]: e for e in recv_events.named("file-done")}
    assert done["Größe 数据/sub/blob 🎉.bin"]["sha256"] == digest
    assert done["Größe 数据/zero"]["sha256"] == hashlib.sha256(b"").hexdigest()
    assert {e["path"] for e in send_events.named("file-done")} == set(done)
    assert not list((tmp_path / "dst").glob(STAGING_PREFIX + "*"))


async def test_resume_moves_only_the_missing_part(tmp_path):
    size = 8 << 20
    digest = random_file(tmp_path / "big.bin", size)
    scan = scan_paths([tmp_path / "big.bin"])
    offer = tp.offer_for(scan.manifest, OFFER_ID)
    target = tmp_path / "dst"

    # First run: the connection drops once about half has arrived.
    server, client = await tls_pair()
    events = Events()
    receiver = Receiver(offer, target, events)

    async def send():
        decoder, early = await hello(server)
        await Sender(offer, scan, Events(), limit_rate=4e6).run(server, decoder, early)

    sending = asyncio.ensure_future(send())
    receiving = asyncio.ensure_future(receiver.run(client))

    async def half():
        while not any(e.get("bytes", 0) >= size // 2 for e in events.named("file-progress")):
            await events.wait("file-progress")
            await asyncio.sleep(0)

    await asyncio.wait_for(half(), 30)
    server.abort()  # the link drops
    for job in (sending, receiving):
        with pytest.raises((StreamClosed, TransferError)):
            await asyncio.wait_for(job, 10)
    assert not (target / "big.bin").exists() and not events.named("file-done")
    partial = (target / f"{STAGING_PREFIX}{scan.manifest.key}" / "0.part").stat().st_size
    # What was in flight when the link dropped arrived too: on a loaded machine that can be all
    # of it (the verified rename had not happened yet), which the second run must then accept.
    assert size // 2 <= partial <= size

    # Second run: same offer, same folder.
    sent, received, _, recv_events = await transfer([tmp_path / "big.bin"], target)
    assert sha256_of(target / "big.bin") == digest
    assert received.moved == size - partial
    assert sent.moved == received.moved
    assert recv_events.named("file-done")[0]["resumed_from"] == size - received.moved


async def test_a_changed_source_is_sent_again_from_the_start(tmp_path):
    random_file(tmp_path / "f.bin", 1 << 20)
    scan = scan_paths([tmp_path / "f.bin"])
    # The receiver has a partial file whose bytes are not the sender's (stale or damaged).
    staging = tmp_path / "dst" / f"{STAGING_PREFIX}{scan.manifest.key}"
    staging.mkdir(parents=True)
    (staging / "0.part").write_bytes(b"\x00" * 1000)
    _, received, _, _ = await transfer([tmp_path / "f.bin"], tmp_path / "dst")
    assert received.moved == 1 << 20
    assert sha256_of(tmp_path / "dst" / "f.bin") == sha256_of(tmp_path / "f.bin")


async def test_existing_files_get_a_new_name_unless_overwrite(tmp_path):
    (tmp_path / "a.txt").write_text("new")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "a.txt").write_text("old")
    await transfer([tmp_path / "a.txt"], tmp_path / "dst")
    assert (tmp_path / "dst" / "a.txt").read_text() == "old"
    assert (tmp_path / "dst" / "a (1).txt").read_text() == "new"
    await transfer([tmp_path / "a.txt"], tmp_path / "dst", overwrite=True)
    assert (tmp_path / "dst" / "a.txt").read_text() == "new"


class RawSender:
    """A hostile sender: writes whatever frames the test wants."""

    def __init__(self, manifest_bytes: bytes, frames: list[bytes]) -> None:
        self.manifest_bytes = manifest_bytes
        self.frames = frames

    async def run(self, stream):
        await hello(stream)
        await stream.write(fr.encode(fr.MANIFEST, self.manifest_bytes))
        decoder = fr.FrameDecoder()
        while not decoder.feed(await stream.read()):
            pass
        for frame in self.frames:
            await stream.write(frame)
        await asyncio.sleep(0.5)


def offer_for_bytes(data: bytes, files: int, dirs: int, total: int, names: tuple[str, ...]):
    return tp.Offer(OFFER_ID, hashlib.sha256(data).hexdigest()[:32], files, dirs, total, names)


async def run_hostile(tmp_path, offer, raw):
    server, client = await tls_pair()
    events = Events()
    receiver = Receiver(offer, tmp_path / "dst", events)
    hostile = asyncio.ensure_future(raw.run(server))
    try:
        with pytest.raises(TransferError) as info:
            await asyncio.wait_for(receiver.run(client), 20)
    finally:
        hostile.cancel()
        server.abort()
    return info.value, events


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/abs.txt", "a/../../b.txt", "C:\\x.txt",
                                  ".rassist-partial-0/x", "ok/\x1b]0;pwned\x07"])
async def test_hostile_names_are_refused_before_anything_is_written(tmp_path, name):
    data = (b'{"v":1,"entries":[["' + name.encode().replace(b"\\", b"\\\\").replace(b"\x1b", b"\\u001b")
            .replace(b"\x07", b"\\u0007") + b'","file",3,420,0]]}')
    offer = offer_for_bytes(data, 1, 0, 3, ("ok",))
    error, events = await run_hostile(tmp_path, offer, RawSender(data, []))
    assert error.kind == "unsafe-name"
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/abs.txt").exists()
    assert not (tmp_path / "dst").exists() or not any((tmp_path / "dst").iterdir())
    assert not events.named("file-done")


async def test_a_manifest_that_differs_from_the_offer_is_refused(tmp_path):
    manifest = make_manifest([Entry("a.txt", "file", 10)])
    offer = tp.offer_for(make_manifest([Entry("a.txt", "file", 5)]), OFFER_ID)
    error, _ = await run_hostile(tmp_path, offer, RawSender(manifest.encode(), []))
    assert error.kind == "protocol" and "differs" in error.message


async def test_a_digest_mismatch_is_an_error_and_the_file_is_not_kept(tmp_path):
    manifest = make_manifest([Entry("a.txt", "file", 5)])
    offer = tp.offer_for(manifest, OFFER_ID)
    frames = [fr.encode_file(0, 0, 5), b"hello", fr.encode_end(0, hashlib.sha256(b"HELLO").digest()),
              fr.encode(fr.DONE)]
    error, events = await run_hostile(tmp_path, offer, RawSender(manifest.encode(), frames))
    assert error.kind == "integrity"
    assert not (tmp_path / "dst" / "a.txt").exists()
    assert not events.named("file-done")
    staging = tmp_path / "dst" / f"{STAGING_PREFIX}{manifest.key}"
    assert not (staging / "0.part").exists()  # the next run starts that file over


@pytest.mark.parametrize("frames, why", [
    ([fr.encode_file(1, 0, 0)], "not expected"),  # a directory's index
    ([fr.encode_file(0, 0, 9)], "continue"),  # longer than the announced size
    ([fr.encode_file(0, 3, 2)], "continue"),  # an offset the receiver never had
    # Three bytes where five were announced: the END frame is eaten as content, and what is
    # left of it does not parse.
    ([fr.encode_file(0, 0, 5), b"hel", fr.encode_end(0, b"\x00" * 32)], "bad data"),
    ([fr.encode(fr.DONE)], "missing"),
    ([fr.encode_ack(0)], "unexpected"),
    ([fr.encode_error("disk-full", "sender says no")], "sender says no"),
])
async def test_frames_that_break_the_rules_stop_the_transfer(tmp_path, frames, why):
    manifest = make_manifest([Entry("a.txt", "file", 5), Entry("d", "dir")])
    offer = tp.offer_for(manifest, OFFER_ID)
    error, _ = await run_hostile(tmp_path, offer, RawSender(manifest.encode(), frames))
    assert why in error.message


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB tmpfs: needs root (or CAP_SYS_ADMIN) to mount."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(reason=f"cannot mount a small tmpfs to fill up (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_is_reported_and_nothing_is_claimed(tmp_path, tiny_disk):
    random_file(tmp_path / "src" / "small.bin", 100_000)
    random_file(tmp_path / "src" / "zbig.bin", 1_500_000)
    random_file(tmp_path / "src" / "zzbig.bin", 1_500_000)
    shutil.copy(tmp_path / "src" / "small.bin", tiny_disk / "filler")
    with pytest.raises(TransferError) as info:
        await transfer([tmp_path / "src"], tiny_disk)
    assert info.value.kind == "disk-full"
    # Announced sizes fit (3.1 MB > 2 MiB is refused up front) or the write hit ENOSPC:
    # either way no file that is not complete and verified sits under its final name.
    for path in (tiny_disk / "src").rglob("*") if (tiny_disk / "src").exists() else []:
        if path.is_file():
            assert sha256_of(path) == sha256_of(tmp_path / "src" / path.name)


async def test_the_disk_filling_up_during_the_transfer(tmp_path, tiny_disk):
    random_file(tmp_path / "src" / "a.bin", 1_200_000)
    random_file(tmp_path / "src" / "b.bin", 600_000)
    server, client = await tls_pair()
    scan = scan_paths([tmp_path / "src"])
    offer = tp.offer_for(scan.manifest, OFFER_ID)
    events = Events()

    async def send():
        decoder, early = await hello(server)
        await Sender(offer, scan, Events(), limit_rate=10e6).run(server, decoder, early)

    async def fill_once_started():  # the space check passed; now someone else eats the disk
        await events.wait("file-progress")
        with open(tiny_disk / "hog", "wb") as f:
            try:
                f.write(b"\x00" * (2 << 20))
            except OSError:
                pass

    hog = asyncio.ensure_future(fill_once_started())
    sending = asyncio.ensure_future(send())
    with pytest.raises(TransferError) as info:
        await asyncio.wait_for(Receiver(offer, tiny_disk, events).run(client), 30)
    hog.cancel()
    with pytest.raises(TransferError) as sender_side:
        await asyncio.wait_for(sending, 10)
    assert info.value.kind == "disk-full" and sender_side.value.kind == "disk-full"
    done = {e["path"] for e in events.named("file-done")}
    for name in ("a.bin", "b.bin"):
        final = tiny_disk / "src" / name
        assert (f"src/{name}" in done) == final.exists()
        if final.exists():
            assert sha256_of(final) == sha256_of(tmp_path / "src" / name)


async def test_a_manifest_far_larger_than_announced_is_not_even_parsed(tmp_path):
    rows = ",".join(f'["d/{i:07}","file",1,420,0]' for i in range(20_000))
    data = ('{"v":1,"entries":[["d","dir",0,493,0],' + rows + "]}").encode()
    offer = offer_for_bytes(data, 1, 1, 1, ("d",))  # announces one file
    error, _ = await run_hostile(tmp_path, offer, RawSender(data, []))
    assert "too large" in error.message
