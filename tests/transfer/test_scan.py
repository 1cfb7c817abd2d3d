import os
import socket

import pytest

from rassist.errors import UsageError
from rassist.transfer.scan import scan_paths


def make_tree(root):
    (root / "tree" / "sub").mkdir(parents=True)
    (root / "tree" / "empty").mkdir()
    (root / "tree" / "b.txt").write_text("b")
    (root / "tree" / "a.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "tree" / "a.sh", 0o755)
    (root / "tree" / "sub" / "c.bin").write_bytes(b"\x00" * 10)
    (root / "outside.txt").write_text("secret")
    return root / "tree"


def test_a_tree_in_name_order_with_dirs_and_modes(tmp_path):
    scan = scan_paths([make_tree(tmp_path)])
    entries = scan.manifest.entries
    assert [e.path for e in entries] == [
        "tree", "tree/a.sh", "tree/b.txt", "tree/empty", "tree/sub", "tree/sub/c.bin"]
    assert [e.kind for e in entries] == ["dir", "file", "file", "dir", "dir", "file"]
    assert entries[1].mode & 0o111 and not entries[2].mode & 0o111
    assert scan.sources[5] == tmp_path / "tree" / "sub" / "c.bin"
    assert scan.manifest.total_size == 10 + 1 + 10
    assert scan_paths([tmp_path / "tree"]).manifest.key == scan.manifest.key  # stable


def test_symlinks_are_followed_only_inside_the_tree(tmp_path):
    tree = make_tree(tmp_path)
    os.symlink("b.txt", tree / "inside-link")
    os.symlink(tmp_path / "outside.txt", tree / "escape")
    os.symlink("../..", tree / "sub" / "loop")
    os.symlink("sub", tree / "dir-link")
    os.symlink("missing", tree / "dangling")
    scan = scan_paths([tree])
    paths = [e.path for e in scan.manifest.entries]
    assert "tree/inside-link" in paths
    index = paths.index("tree/inside-link")
    assert scan.sources[index] == tree / "b.txt"
    skipped = {os.path.basename(p): why for p, why in scan.skipped}
    assert set(skipped) == {"escape", "loop", "dir-link", "dangling"}
    assert "outside" in skipped["escape"]
    assert "broken" in skipped["dangling"]


def test_special_files_are_skipped(tmp_path):
    tree = make_tree(tmp_path)
    os.mkfifo(tree / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tree / "sock"))
    try:
        scan = scan_paths([tree])
    finally:
        sock.close()
    assert {os.path.basename(p) for p, _ in scan.skipped} == {"fifo", "sock"}


def test_names_that_cannot_travel_are_skipped(tmp_path):
    tree = make_tree(tmp_path)
    (tree / "bad\x1bname").write_text("x")
    os.close(os.open(os.path.join(os.fsencode(tree), b"latin1-\xe9"), os.O_CREAT | os.O_WRONLY))
    scan = scan_paths([tree])
    assert len(scan.skipped) == 2
    assert all(e.path.isprintable() for e in scan.manifest.entries)


def test_command_line_mistakes_are_usage_errors(tmp_path):
    tree = make_tree(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "tree").mkdir()
    with pytest.raises(UsageError, match="No such file"):
        scan_paths([tmp_path / "nope"])
    with pytest.raises(UsageError, match="same name"):
        scan_paths([tree, tmp_path / "other" / "tree"])
    with pytest.raises(UsageError, match="root"):
        scan_paths([tmp_path.parents[len(tmp_path.parents) - 1]])


def test_a_file_named_on_the_command_line_is_followed(tmp_path):
    make_tree(tmp_path)
    os.symlink(tmp_path / "outside.txt", tmp_path / "link.txt")
    scan = scan_paths([tmp_path / "link.txt"])
    assert scan.manifest.entries[0].path == "link.txt"
    assert scan.sources[0] == tmp_path / "link.txt"
