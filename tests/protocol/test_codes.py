import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.protocol.codes import (
    MAX_WORDS,
    make_code,
    parse_code,
    wordlists,
)


def test_wordlists_are_256_distinct_words_each():
    even, odd = wordlists()
    assert len(even) == len(odd) == 256
    assert len(set(even) | set(odd)) == 512


@given(st.integers(min_value=2, max_value=MAX_WORDS), st.integers(min_value=1, max_value=999999))
def test_made_codes_parse_back(length, nameplate):
    code = make_code(str(nameplate), length)
    assert parse_code(str(code)) == code
    assert len(code.words) == length


def test_parse_is_forgiving_about_case_and_spaces():
    code = make_code("7")
    typed = f"  7 {code.words[0].upper()} {code.words[1]} "
    assert parse_code(typed) == code


@pytest.mark.parametrize("bad", [
    "", "7", "7-", "-acme-adviser", "acme-adviser", "0-acme-adviser", "07-acme-adviser",
    "1234567-acme-adviser", "7-acme", "7--adviser", "7-acme-notaword", "7-acme-adviser-" + "-acme" * 10,
    "7-ac\x00me-adviser", "x7-acme-adviser",
])
def test_malformed_codes_are_refused_with_a_message(bad):
    with pytest.raises(ValueError, match="malformed code"):
        parse_code(bad)


@given(st.text(max_size=60))
def test_parse_never_crashes(text):
    try:
        parse_code(text)
    except ValueError:
        pass


def test_bad_lengths_are_refused():
    with pytest.raises(ValueError):
        make_code("1", 1)
    with pytest.raises(ValueError):
        make_code("1", MAX_WORDS + 1)

