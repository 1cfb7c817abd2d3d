"""Large transfers kept out of the page cache: the receiver's .part writer is written back as it
grows (errors of a background flush surface, the descriptor is never closed under a running
flush) and the sender drops what it has read."""

import asyncio
import errno
import hashlib
import os
import threading

import pytest

from rassist.protocol import transfer as tp
from rassist.transfer import pagecache, partwriter, sender
from rassist.transfer.partwriter import PartWriter
from rassist.transfer.receiver import Receiver
from rassist.transfer.scan import scan_paths
from rassist.transfer.sender import Sender
from rassist.transfer.staging import STAGING_PREFIX, TransferError
from tests.transfer.helpers import Events, random_file, tls_pair
from tests.transfer.test_engine import OFFER_ID, hello, transfer


def file_system(path):
    """The type of the file system holding path, from /proc/mounts."""
    best, kind = "", "unknown"
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            point, fs = line.split()[1:3]
            if str(path.resolve()).startswith(point.rstrip("/") + "/") and len(point) >= len(best):
                best, kind = point, fs
    return kind


def new_writer(path, size=0):
    return PartWriter(0, open(path, "wb"), hashlib.sha256(), size, 0)


async def test_the_file_is_flushed_as_it_grows_and_its_bytes_are_intact(tmp_path, monkeypatch):
    monkeypatch.setattr(partwriter, "FLUSH_EVERY", 64 << 10)
    flushed = []
    real = partwriter._flush
    monkeypatch.setattr(partwriter, "_flush", lambda fd: (flushed.append(os.fstat(fd).st_size),
                                                          real(fd)))
    data = os.urandom(1 << 20)
    writer = new_writer(tmp_path / "0.part", len(data))
    for start in range(0, len(data), 10_000):
        await writer.write(memoryview(data)[start:start + 10_000])
    await writer.finish()
    await writer.close()
    assert (tmp_path / "0.part").read_bytes() == data
    assert writer.hasher.digest() == hashlib.sha256(data).digest()
    assert writer.written == len(data) and writer.left == 0
    assert len(flushed) >= 14 and flushed == sorted(flushed)  # one per 64 KiB, one at a time


async def test_a_failed_flush_is_raised_by_the_next_write_or_finish(tmp_path, monkeypatch):
    monkeypatch.setattr(partwriter, "FLUSH_EVERY", 1000)

    def broken(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", broken)
    writer = new_writer(tmp_path / "0.part")
    await writer.write(memoryview(b"x" * 1500))  # starts the flush
    with pytest.raises(OSError) as info:
        await writer.write(memoryview(b"y" * 1500))
        await writer.finish()
    assert info.value.errno == errno.EIO
    await writer.close()
    assert writer.file.closed


async def test_a_running_flush_has_its_own_descriptor_when_the_file_closes(tmp_path, monkeypatch):
    monkeypatch.setattr(partwriter, "FLUSH_EVERY", 10)
    release, started, done = threading.Event(), threading.Event(), []
    real = os.fdatasync

    def slow(fd):
        started.set()
        release.wait(10)
        real(fd)  # EBADF here if the descriptor had gone with the file
        done.append(os.fstat(fd).st_size)

    monkeypatch.setattr(os, "fdatasync", slow)
    writer = new_writer(tmp_path / "0.part")
    await writer.write(memoryview(b"z" * 100))
    await asyncio.to_thread(started.wait, 10)
    await writer.close()  # a failing transfer does not wait for the disk
    assert writer.file.closed
    open(tmp_path / "other", "wb").close()  # may take the closed number
    release.set()
    for _ in range(200):
        if done:
            break
        await asyncio.sleep(0.01)
    assert done == [100]


async def test_a_transfer_keeps_its_bytes_through_many_flushes(tmp_path, monkeypatch):
    monkeypatch.setattr(partwriter, "FLUSH_EVERY", 256 << 10)
    digest = random_file(tmp_path / "src" / "big.bin", 5 << 20)
    await transfer([tmp_path / "src" / "big.bin"], tmp_path / "dst")
    assert hashlib.sha256((tmp_path / "dst" / "big.bin").read_bytes()).hexdigest() == digest


async def test_a_disk_error_in_a_flush_stops_the_transfer_and_keeps_the_partial(tmp_path,
                                                                                monkeypatch):
    monkeypatch.setattr(partwriter, "FLUSH_EVERY", 256 << 10)
    calls = []

    def failing(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", failing)
    random_file(tmp_path / "src" / "big.bin", 4 << 20)
    scan = scan_paths([tmp_path / "src" / "big.bin"])
    offer = tp.offer_for(scan.manifest, OFFER_ID)
    server, client = await tls_pair()

    async def send():
        decoder, early = await hello(server)
        await Sender(offer, scan, Events()).run(server, decoder, early)

    sending = asyncio.ensure_future(send())
    with pytest.raises(TransferError) as info:
        await asyncio.wait_for(Receiver(offer, tmp_path / "dst", Events()).run(client), 30)
    with pytest.raises(TransferError):
        await asyncio.wait_for(sending, 10)
    assert info.value.kind == "disk-full"
    assert not (tmp_path / "dst" / "big.bin").exists()
    staged = list((tmp_path / "dst").glob(f"{STAGING_PREFIX}*/0.part"))
    assert len(staged) == 1 and staged[0].stat().st_size >= 3 * (256 << 10)


@pytest.mark.parametrize("was_cached", [False, True])
async def test_the_sender_drops_what_it_read_unless_the_file_was_cached(tmp_path, monkeypatch,
                                                                        was_cached):
    monkeypatch.setattr(sender, "DROP_EVERY", 1 << 20)
    monkeypatch.setattr(pagecache, "cached", lambda fd, start, end: was_cached)
    dropped = []
    real = pagecache.drop
    monkeypatch.setattr(pagecache, "drop", lambda fd: (dropped.append(os.lseek(fd, 0, os.SEEK_CUR)),
                                                       real(fd)))
    digest = random_file(tmp_path / "src" / "big.bin", 5 << 20)
    await transfer([tmp_path / "src" / "big.bin"], tmp_path / "dst")
    assert hashlib.sha256((tmp_path / "dst" / "big.bin").read_bytes()).hexdigest() == digest
    # Behind the reads, once per MiB; a file found in the cache stays there.
    assert dropped == ([] if was_cached else [n << 20 for n in range(1, 6)])


def test_a_file_is_seen_cached_until_it_is_dropped(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(4 << 20))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert pagecache.cached(fd, 0, 4 << 20)
        os.fsync(fd)
        pagecache.drop(fd)
        if file_system(tmp_path) in ("tmpfs", "ramfs"):
            pytest.skip(reason=f"{tmp_path} is on {file_system(tmp_path)}, whose pages never "
                               "leave the cache: nothing to drop there")
        # (One look only: a probe that misses starts reading ahead, so a second may hit.)
        assert not pagecache.cached(fd, 0, 4 << 20)
        assert not pagecache.cached(fd, 10, 10)  # an empty range tells nothing
    finally:
        os.close(fd)
