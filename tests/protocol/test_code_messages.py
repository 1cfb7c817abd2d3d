"""What a person reads when they mistype a code."""

from __future__ import annotations

import pytest

from rassist.protocol.codes import parse_code


def message(text: str) -> str:
    with pytest.raises(ValueError) as caught:
        parse_code(text)
    return str(caught.value)


def test_spaces_around_a_code_are_trimmed_and_inside_are_dashes() -> None:
    assert str(parse_code("  583-positive-kickoff \n")) == "583-positive-kickoff"
    assert str(parse_code(" 583 positive  kickoff ")) == "583-positive-kickoff"
    assert "' 5" not in message("  5-ab-cd  ")


def test_each_wrong_number_says_what_is_wrong_with_it() -> None:
    assert "never starts with 0" in message("0-positive-kickoff")
    assert "never starts with 0" in message("07-positive-kickoff")
    assert "at most 6 digits, not 20" in message("12345678901234567890-positive-kickoff")
    assert "must start with a number" in message("abc-positive-kickoff")


def test_unknown_words_are_named_and_the_example_is_a_real_code() -> None:
    assert "'ab', 'cd' are not code words" in message("5-ab-cd")
    assert "'cd' is not a code word" in message("5-positive-cd")
    example = message("5-ab-cd").rsplit("look like ", 1)[1].rstrip(")")
    assert str(parse_code(example)) == example
