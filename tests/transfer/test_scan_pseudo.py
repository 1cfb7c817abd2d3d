"""Files that stat as size 0 but have content when read (/proc, /sys): what is read is sent."""

from __future__ import annotations

from pathlib import Path

from rassist.transfer.scan import scan_paths


def test_a_proc_file_is_sent_with_what_reading_it_gives() -> None:
    scan = scan_paths([Path("/proc/self/status")])
    entry = scan.manifest.entries[0]
    data = scan.sources[0].read_bytes()
    assert entry.size == len(data) > 0
    assert data.startswith(b"Name:")
    assert scan.sources[0] != Path("/proc/self/status")  # a private copy: the size is fixed now


def test_a_truly_empty_file_stays_empty_and_is_not_copied(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    scan = scan_paths([tmp_path / "empty"])
    assert scan.manifest.entries[0].size == 0
    assert scan.sources[0] == tmp_path / "empty"
    assert scan.scratch is None
