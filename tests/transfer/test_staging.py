"""The receiver's disk side: partial files, verified placement, no clobbering, no symlinks."""

import hashlib
import os
import stat

import pytest

from rassist.protocol.transfer_manifest import Entry, make_manifest
from rassist.transfer.staging import STAGING_PREFIX, Staging, TransferError

MANIFEST = make_manifest([
    Entry("tree", "dir", 0, 0o755, 1_600_000_000),
    Entry("tree/run.sh", "file", 3, 0o755, 1_600_000_001),
    Entry("tree/empty", "dir", 0, 0o750, 1_600_000_002),
    Entry("tree/sub", "dir", 0, 0o755, 1_600_000_003),
    Entry("tree/sub/data.bin", "file", 6, 0o640, 1_600_000_004),
    Entry("note.txt", "file", 2, 0o644, 1_600_000_005),
])
CONTENT = {1: b"sh\n", 4: b"abcdef", 5: b"hi"}


def write_all(staging: Staging, indexes=(1, 4, 5)) -> dict[int, str]:
    placed = {}
    for index in indexes:
        f, hasher = staging.open_part(index, 0)
        f.write(CONTENT[index])
        hasher.update(CONTENT[index])
        f.close()
        placed[index] = str(staging.place(index, hasher.hexdigest()))
    return placed


def test_a_tree_lands_with_modes_times_and_empty_dirs(tmp_path):
    staging = Staging(tmp_path, MANIFEST)
    staging.open()
    placed = write_all(staging)
    staging.finish_dirs()
    staging.remove()
    assert (tmp_path / "tree/run.sh").read_bytes() == b"sh\n"
    assert os.stat(tmp_path / "tree/run.sh").st_mode & 0o111  # executable bits kept
    assert not os.stat(tmp_path / "note.txt").st_mode & 0o111
    assert (tmp_path / "tree/empty").is_dir() and not any((tmp_path / "tree/empty").iterdir())
    assert int(os.stat(tmp_path / "tree/sub/data.bin").st_mtime) == 1_600_000_004
    assert placed[5] == str(tmp_path / "note.txt")
    assert not list(tmp_path.glob(STAGING_PREFIX + "*"))


def test_existing_names_are_never_overwritten(tmp_path):
    (tmp_path / "note.txt").write_text("mine")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "keep").write_text("mine too")
    staging = Staging(tmp_path, MANIFEST)
    staging.open()
    placed = write_all(staging)
    staging.finish_dirs()
    assert (tmp_path / "note.txt").read_text() == "mine"
    assert placed[5] == str(tmp_path / "note (1).txt")
    assert (tmp_path / "tree (1)" / "sub" / "data.bin").read_bytes() == b"abcdef"
    assert (tmp_path / "tree" / "keep").read_text() == "mine too"


def test_overwrite_replaces_files_and_merges_directories(tmp_path):
    (tmp_path / "note.txt").write_text("old")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "keep").write_text("stays")
    staging = Staging(tmp_path, MANIFEST, overwrite=True)
    staging.open()
    write_all(staging)
    staging.finish_dirs()
    assert (tmp_path / "note.txt").read_text() == "hi"
    assert (tmp_path / "tree" / "keep").read_text() == "stays"


def test_nothing_is_written_through_a_symlink(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "tree").mkdir()
    os.symlink(outside, target / "tree" / "sub")  # a trap inside a directory we merge into
    staging = Staging(target, MANIFEST, overwrite=True)
    staging.open()
    with pytest.raises(TransferError, match="symlink") as info:
        write_all(staging, (4,))
    assert info.value.kind == "unsafe-name"
    assert not any(outside.iterdir())


def test_an_existing_symlink_is_not_followed_when_placing(tmp_path):
    outside = tmp_path / "victim"
    outside.write_text("precious")
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(outside, target / "note.txt")
    staging = Staging(target, MANIFEST)
    staging.open()
    write_all(staging, (5,))
    assert outside.read_text() == "precious"
    assert (target / "note (1).txt").read_text() == "hi"


def test_resume_reports_partial_files_with_their_digest(tmp_path):
    staging = Staging(tmp_path, MANIFEST)
    staging.open()
    write_all(staging, (5,))
    f, _ = staging.open_part(4, 0)
    f.write(b"abc")
    f.close()
    staging.close()  # the process dies here

    again = Staging(tmp_path, MANIFEST)
    again.open()
    info = again.resume_info()
    assert info.done == {5: hashlib.sha256(b"hi").hexdigest()}
    assert info.have[4].offset == 3 and info.have[4].prefix_sha256 == hashlib.sha256(b"abc").hexdigest()
    f, hasher = again.open_part(4, 3)
    f.write(b"def")
    hasher.update(b"def")
    f.close()
    assert hasher.hexdigest() == hashlib.sha256(b"abcdef").hexdigest()
    again.place(4, hasher.hexdigest())
    assert (tmp_path / "tree/sub/data.bin").read_bytes() == b"abcdef"
    assert not (tmp_path / "note (1).txt").exists()  # the earlier file is recognised as ours


def test_a_crash_between_link_and_unlink_is_repaired(tmp_path):
    staging = Staging(tmp_path, MANIFEST)
    staging.open()
    f, hasher = staging.open_part(5, 0)
    f.write(b"hi")
    hasher.update(b"hi")
    f.close()
    digest = hasher.hexdigest()
    staging._log(5, digest, "note.txt")  # journal written, link done, unlink never happened
    os.link(staging.part(5), tmp_path / "note.txt")
    staging.close()
    again = Staging(tmp_path, MANIFEST)
    again.open()
    assert again.resume_info().done == {5: digest}
    assert not again.part(5).exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["note.txt"]


def test_a_second_receiver_of_the_same_offer_is_refused(tmp_path):
    first = Staging(tmp_path, MANIFEST)
    first.open()
    with pytest.raises(TransferError, match="another receive"):
        Staging(tmp_path, MANIFEST).open()
    first.close()
    Staging(tmp_path, MANIFEST).open()


def test_a_damaged_partial_larger_than_the_file_is_dropped(tmp_path):
    staging = Staging(tmp_path, MANIFEST)
    staging.open()
    staging.part(5).write_bytes(b"far too long")
    info = staging.resume_info()
    assert 5 not in info.have and not staging.part(5).exists()


def test_space_is_checked_before_writing(tmp_path):
    huge = make_manifest([Entry("big", "file", 1 << 49)])
    staging = Staging(tmp_path, huge)
    staging.open()
    with pytest.raises(TransferError, match="not enough space") as info:
        staging.check_space(staging.resume_info())
    assert info.value.kind == "disk-full"


def test_part_files_are_private(tmp_path):
    staging = Staging(tmp_path, MANIFEST)
    staging.open()
    f, _ = staging.open_part(1, 0)
    f.close()
    assert stat.S_IMODE(os.stat(staging.part(1)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(staging.dir).st_mode) == 0o700


def test_a_file_is_fsynced_before_the_name_appears_and_its_directory_after(tmp_path, monkeypatch):
    calls: list[tuple[str, str]] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def link(src, dst, *args, **kwargs):
        calls.append(("link", str(dst)))
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    staging = Staging(tmp_path, MANIFEST)
    staging.open()
    calls.clear()
    write_all(staging, indexes=(5,))
    part = [i for i, (what, path) in enumerate(calls) if what == "fsync" and path.endswith(".part")]
    named = calls.index(("link", str(tmp_path / "note.txt")))
    assert part and part[0] < named  # data first
    assert ("fsync", str(tmp_path)) in calls[named:]  # then the directory holding the new name
