import json

import pytest

from rassist.protocol.transfer_manifest import (
    Entry,
    ManifestError,
    decode_manifest,
    make_manifest,
)


def tree():
    return make_manifest([
        Entry("docs", "dir", 0, 0o755, 1_700_000_000),
        Entry("docs/a.txt", "file", 5, 0o644, 1_700_000_001),
        Entry("docs/empty", "dir", 0, 0o700, 1_700_000_002),
        Entry("docs/run.sh", "file", 0, 0o755, 1_700_000_003),
        Entry("notes.md", "file", 1234, 0o600, 1_700_000_004),
    ])


def test_round_trip_and_totals():
    manifest = tree()
    again = decode_manifest(manifest.encode())
    assert again.entries == manifest.entries
    assert again.key == manifest.key and len(manifest.key) == 32
    assert manifest.file_count == 3 and manifest.dir_count == 2
    assert manifest.total_size == 1239
    assert manifest.roots == ["docs", "notes.md"]
    assert [i for i, _ in manifest.files] == [1, 3, 4]


def test_the_key_changes_with_any_detail():
    base = tree()
    changed = make_manifest([*base.entries[:4], Entry("notes.md", "file", 1234, 0o600, 1_700_000_005)])
    assert changed.key != base.key
    assert make_manifest(list(base.entries)).key == base.key


def raw(entries):
    return json.dumps({"v": 1, "entries": entries}).encode()


@pytest.mark.parametrize("entries, why", [
    ([["../x", "file", 1, 420, 0]], "unsafe"),
    ([["/etc/passwd", "file", 1, 420, 0]], "unsafe"),
    ([["a/../../b", "file", 1, 420, 0]], "unsafe"),
    ([["C:\\x", "file", 1, 420, 0]], "unsafe"),
    ([["a\u0000b", "file", 1, 420, 0]], "unsafe"),
    ([["", "file", 1, 420, 0]], "unsafe"),
    ([[".", "dir", 0, 493, 0]], "unsafe"),
    ([["a", "file", 1, 420, 0], ["a", "file", 1, 420, 0]], "duplicate"),
    ([["a", "file", 1, 420, 0], ["a/b", "file", 1, 420, 0]], "inside the file"),
    ([["a", "link", 0, 420, 0]], "kind"),
    ([["a", "file", -1, 420, 0]], "size"),
    ([["a", "file", 1.5, 420, 0]], "size"),
    ([["a", "file", True, 420, 0]], "size"),
    ([["a", "file", 2**60, 420, 0]], "size"),
    ([["a", "dir", 5, 493, 0]], "no size"),
    ([["a", "file", 1, 0o17777, 0]], "mode"),
    ([["a", "file", 1, 420, -5]], "mtime"),
    ([["a", "file", 1, 420]], "must be"),
    (["a"], "must be"),
])
def test_hostile_manifests_are_refused(entries, why):
    with pytest.raises(ManifestError, match=why):
        decode_manifest(raw(entries))


@pytest.mark.parametrize("data", [b"not json", b"[]", b'{"v": 2, "entries": []}', b'{"v": 1}',
                                  b"\xff\xfe", b'{"v": 1, "entries": {}}'])
def test_malformed_documents_are_refused(data):
    with pytest.raises(ManifestError):
        decode_manifest(data)


def test_unicode_names_survive():
    manifest = make_manifest([Entry("données", "dir"), Entry("données/日本 🎉.txt", "file", 3)])
    assert decode_manifest(manifest.encode()).entries[1].path == "données/日本 🎉.txt"
