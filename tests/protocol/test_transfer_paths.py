"""No name from the peer may lead outside the target directory, whatever it contains."""

import os
import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.protocol.transfer_paths import (
    MAX_COMPONENT_BYTES,
    UnsafePath,
    check_component,
    check_relpath,
    is_safe_relpath,
    numbered_name,
    unique_name,
)

HOSTILE = [
    "", ".", "..", "../x", "x/..", "a/../../b", "a/./b", "/etc/passwd", "//server/share",
    "C:\\x", "C:x", "c:/windows", "a\\..\\b", "..\\x", "a\x00b", "a//b", "a/", "/", "x/\x1b[31m",
    "\x7f", "a\nb", "tab\there", "\u009b2J", "dir/../../../../etc/shadow", ".rassist-partial-x",
    ".rassist-partial-0123/x", "x" * (MAX_COMPONENT_BYTES + 1), "é" * 128, "a/" * 300 + "b",
    "\ud800", "ok/\udcff",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused(name):
    with pytest.raises(UnsafePath):
        check_relpath(name)
    assert not is_safe_relpath(name)


@pytest.mark.parametrize("name", [None, 5, b"bytes", ["a"], {"a": 1}])
def test_non_strings_are_refused(name):
    with pytest.raises(UnsafePath):
        check_relpath(name)


@pytest.mark.parametrize("name, parts", [
    ("report.pdf", ("report.pdf",)),
    ("dir/sub/file.txt", ("dir", "sub", "file.txt")),
    ("..hidden", ("..hidden",)),
    ("a..b/c...", ("a..b", "c...")),
    ("日本語/файл ünïcødé 🎉.txt", ("日本語", "файл ünïcødé 🎉.txt")),
    (".bashrc", (".bashrc",)),
    ("x" * MAX_COMPONENT_BYTES, ("x" * MAX_COMPONENT_BYTES,)),
    ("with:colon/and space", ("with:colon", "and space")),
])
def test_ordinary_names_pass_unchanged(name, parts):
    assert check_relpath(name) == parts


@settings(max_examples=800)
@given(st.lists(st.sampled_from(list("ab./\\:\x00\x1b C~é") + ["..", "../", "/.."]),
                max_size=30).map("".join))
def test_accepted_paths_stay_inside_any_base(name):
    try:
        parts = check_relpath(name)
    except UnsafePath:
        return
    base = "/srv/target"
    joined = posixpath.normpath(posixpath.join(base, *parts))
    assert joined.startswith(base + "/")
    assert ".." not in parts and "." not in parts and "" not in parts
    assert "/".join(parts) == name  # accepted only in canonical form
    assert all("\\" not in p and "\x00" not in p for p in parts)


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_arbitrary_unicode_never_escapes(name):
    try:
        parts = check_relpath(name)
    except UnsafePath:
        return
    base = os.path.realpath("/tmp")
    joined = os.path.normpath(os.path.join(base, *parts))
    assert os.path.commonpath([base, joined]) == base and joined != base
    for part in parts:
        assert len(part.encode()) <= MAX_COMPONENT_BYTES
        assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in part)


def test_numbered_names_keep_the_extension_and_the_limit():
    assert numbered_name("report.pdf", 1) == "report (1).pdf"
    assert numbered_name("report (1).pdf", 2) == "report (2).pdf"
    assert numbered_name("archive.tar.gz", 3) == "archive.tar (3).gz"
    assert numbered_name(".bashrc", 1) == ".bashrc (1)"
    assert numbered_name("dir", 7) == "dir (7)"
    long = "é" * 125 + ".txt"
    assert len(long.encode()) <= MAX_COMPONENT_BYTES
    renamed = numbered_name(long, 12)
    assert renamed.endswith(" (12).txt") and len(renamed.encode()) <= MAX_COMPONENT_BYTES
    renamed.encode("utf-8")  # never cut in the middle of a character


def test_unique_name_picks_the_first_free_one():
    taken = {"a.txt", "a (1).txt", "a (2).txt"}
    assert unique_name("a.txt", taken.__contains__) == "a (3).txt"
    assert unique_name("b.txt", taken.__contains__) == "b.txt"
    with pytest.raises(UnsafePath):
        unique_name("../x", taken.__contains__)


def test_check_component_refuses_separators():
    for bad in ("a/b", "a\\b", "..", ""):
        with pytest.raises(UnsafePath):
            check_component(bad)
