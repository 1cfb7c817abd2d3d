import hashlib

import pytest

from rassist.protocol.transfer_manifest import Entry, make_manifest
from rassist.protocol.transfer_resume import (
    Have,
    ResumeError,
    ResumeInfo,
    bytes_to_send,
    journal_line,
    parse_journal,
    parse_resume,
    parse_roots,
    start_offset,
)

MANIFEST = make_manifest([
    Entry("d", "dir"), Entry("d/a", "file", 100), Entry("d/b", "file", 50), Entry("c", "file", 0),
])
SHA = hashlib.sha256(b"x").hexdigest()


def test_round_trip_and_what_still_travels():
    info = ResumeInfo({1: Have(40, SHA)}, {2: SHA})
    again = parse_resume(info.to_json(), MANIFEST)
    assert again == info
    assert bytes_to_send(MANIFEST, again) == 60  # 100-40 of a, nothing of b, c is empty


@pytest.mark.parametrize("body, why", [
    ({"have": {"0": [0, SHA]}}, "not a file"),  # a directory
    ({"have": {"9": [0, SHA]}}, "not a file"),
    ({"have": {"-1": [0, SHA]}}, "integer"),
    ({"have": {"1": [101, SHA]}}, "outside"),
    ({"have": {"1": [-1, SHA]}}, "outside"),
    ({"have": {"1": [5, "zz"]}}, "hex"),
    ({"have": {"1": [5, SHA + "\n"]}}, "hex"),
    ({"have": {"1": [True, SHA]}}, "integer"),
    ({"have": {"1": [5]}}, "offset, sha256"),
    ({"have": {"²": [5, SHA]}}, "integer"),
    ({"have": {"1": [5, SHA]}, "done": {"1": SHA}}, "both"),
    ({"done": {"2": "nope"}}, "hex"),
    ({"have": []}, "objects"),
])
def test_bad_resume_data_is_refused(body, why):
    with pytest.raises(ResumeError, match=why):
        parse_resume(body, MANIFEST)


def test_start_offset_needs_matching_digests():
    assert start_offset(None, None) == 0
    assert start_offset(Have(40, SHA), SHA) == 40
    assert start_offset(Have(40, SHA), hashlib.sha256(b"y").hexdigest()) == 0
    assert start_offset(Have(0, SHA), SHA) == 0


def test_journal_keeps_the_last_good_line_per_file():
    text = (journal_line(1, SHA, "d/a") + "garbage\n" + journal_line(1, SHA, "d/a (1)")
            + '{"i": 0, "sha256": "' + SHA + '", "path": "d"}\n'  # a directory: ignored
            + journal_line(2, SHA, "../escape") + '{"i": 2, "sha2')  # unsafe; cut short
    assert parse_journal(text, MANIFEST) == {1: (SHA, "d/a (1)")}


def test_roots_record_must_match_this_manifest():
    good = {"v": 1, "key": MANIFEST.key, "roots": {"d": "d (1)", "c": "c"}}
    assert parse_roots(good, MANIFEST.key, MANIFEST) == {"d": "d (1)", "c": "c"}
    assert parse_roots({**good, "key": "other"}, MANIFEST.key, MANIFEST) == {}
    assert parse_roots({**good, "roots": {"d": "../up"}}, MANIFEST.key, MANIFEST) == {}
    assert parse_roots({**good, "roots": {"zzz": "d"}}, MANIFEST.key, MANIFEST) == {}
    assert parse_roots(None, MANIFEST.key, MANIFEST) == {}
