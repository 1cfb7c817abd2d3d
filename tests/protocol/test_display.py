"""The one sanitiser for peer text: nothing a terminal obeys gets through, everything else stays."""

from hypothesis import given
from hypothesis import strategies as st

from rassist.protocol.display import visible, visible_event, visible_fields

DANGEROUS = {*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
             0x200E, 0x200F, 0x061C, 0x2028, 0x2029}


def obeyable(text: str, multiline: bool = False) -> list[str]:
    allowed = {0x0A, 0x09} if multiline else set()
    return [ch for ch in text if (ord(ch) in DANGEROUS and ord(ch) not in allowed) or 0xD800 <= ord(ch) <= 0xDFFF]


def test_escapes_are_shown_in_caret_notation():
    assert visible("mallory\x1b[8m") == "mallory^[[8m"
    assert visible("\x1b]52;c;cHduZWQ=\x07") == "^[]52;c;cHduZWQ=^G"
    assert visible("a\x7fb\x00") == "a^?b^@"
    assert visible("line\r\nnext\t") == "line^M^Jnext^I"


def test_c1_and_direction_controls_are_named():
    assert visible("\x9b2J") == "<U+009B>2J"
    assert visible("report\u202egpj.exe") == "report<U+202E>gpj.exe"
    assert visible("\u2066x\u2069") == "<U+2066>x<U+2069>"


def test_ordinary_text_of_any_script_is_kept():
    for text in ("alice@laptop", "Grüße, 你好, مرحبا, שלום 👩‍💻", "a [b] c", ""):
        assert visible(text) == text


def test_multiline_keeps_newlines_and_tabs_only():
    assert visible("one\n\ttwo\r\x1b", multiline=True) == "one\n\ttwo^M^["


def test_lone_surrogates_become_replacement_characters():
    assert visible("a\ud800b") == "a\ufffdb"


@given(st.text(), st.booleans())
def test_nothing_obeyable_survives_and_the_result_encodes(text: str, multiline: bool):
    shown = visible(text, multiline)
    assert obeyable(shown, multiline) == []
    shown.encode("utf-8")
    assert visible(shown, multiline) == shown  # idempotent: applying it twice is harmless


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                    max_leaves=20))
def test_fields_are_cleaned_all_the_way_down(value):
    def strings(v):
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for k, x in v.items():
                yield k
                yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)

    for s in strings(visible_fields(value)):
        assert obeyable(s) == []


def test_multiline_fields_keep_their_newlines():
    assert visible_fields({"text": "a\nb\x1b", "peer": "x\ny"}, frozenset({"text"})) == \
        {"text": "a\nb^[", "peer": "x^Jy"}


def test_events_keep_newlines_only_in_text_snippets():
    assert visible_event("text", {"text": "a\nb", "peer": "p\n"}) == {"text": "a\nb", "peer": "p^J"}
    assert visible_event("chat", {"text": "a\nb"}) == {"text": "a^Jb"}
