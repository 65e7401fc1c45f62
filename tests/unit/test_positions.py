from __future__ import annotations

import random

import pytest

from codellama_ls.documents.positions import (
    LineIndex,
    PositionEncoding,
    PositionError,
)

U8, U16, U32 = PositionEncoding.UTF8, PositionEncoding.UTF16, PositionEncoding.UTF32
ENCODINGS = (U8, U16, U32)


# -- a deliberately naive reference --------------------------------------------


def ref_lines(text: str) -> list[tuple[int, int]]:
    """(start, content end) of every line, one character at a time."""
    lines, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\r" and text[i + 1 : i + 2] == "\n":
            lines.append((start, i))
            i += 2
            start = i
        elif text[i] in "\r\n":
            lines.append((start, i))
            i += 1
            start = i
        else:
            i += 1
    lines.append((start, len(text)))
    return lines


def units(ch: str, enc: PositionEncoding) -> int:
    if enc is U8:
        return len(ch.encode("utf-8", "surrogatepass"))
    if enc is U16:
        return 2 if ord(ch) > 0xFFFF else 1
    return 1


def ref_position(
    text: str, offset: int, enc: PositionEncoding, lines: list[tuple[int, int]] | None = None
) -> tuple[int, int]:
    lines = lines or ref_lines(text)
    line = max(i for i, (s, _) in enumerate(lines) if s <= offset)
    start, end = lines[line]
    return line, sum(units(c, enc) for c in text[start : min(offset, end)])


def ref_offset(
    text: str,
    line: int,
    char: int,
    enc: PositionEncoding,
    clamp: bool,
    lines: list[tuple[int, int]] | None = None,
) -> int | None:
    """None where a strict lookup must fail."""
    lines = lines or ref_lines(text)
    if line >= len(lines):
        return len(text) if clamp else None
    start, end = lines[line]
    acc = 0
    for i in range(start, end):
        if acc == char:
            return i
        acc += units(text[i], enc)
        if acc > char:  # inside a character
            return i if clamp else None
    if acc == char or clamp:
        return end
    return None


def ref_tree_sitter_point(text: str, offset: int) -> tuple[int, int]:
    row = text.count("\n", 0, offset)
    row_start = text.rfind("\n", 0, offset) + 1
    return row, len(text[row_start:offset].encode("utf-8", "surrogatepass"))


def check_against_reference(idx: LineIndex, text: str) -> None:
    assert idx.text == text
    lines = ref_lines(text)
    assert idx.line_count == len(lines)
    assert idx.line_starts() == [s for s, _ in lines]
    for n, (s, e) in enumerate(lines):
        assert idx.line_text(n) == text[s:e]
        assert idx.line_end(n) == e
    for off in range(len(text) + 1):
        for enc in ENCODINGS:
            assert idx.position(off, enc) == ref_position(text, off, enc, lines)
        assert idx.byte_offset(off) == len(text[:off].encode("utf-8", "surrogatepass"))
        assert idx.point(off) == ref_tree_sitter_point(text, off)
        assert idx.offset_of_byte(idx.byte_offset(off)) == off
    for n, (s, e) in enumerate(lines):
        for enc in ENCODINGS:
            width = sum(units(c, enc) for c in text[s:e])
            for char in range(width + 3):
                for clamp in (False, True):
                    want = ref_offset(text, n, char, enc, clamp, lines)
                    if want is None:
                        with pytest.raises(PositionError):
                            idx.offset(n, char, enc, clamp=clamp)
                    else:
                        assert idx.offset(n, char, enc, clamp=clamp) == want


# -- table-driven cases --------------------------------------------------------

POSITION_CASES = [
    # text, offset, utf-8, utf-16, utf-32 positions
    ("", 0, (0, 0), (0, 0), (0, 0)),
    ("abc", 3, (0, 3), (0, 3), (0, 3)),
    ("a\nb", 2, (1, 0), (1, 0), (1, 0)),
    ("a\n", 2, (1, 0), (1, 0), (1, 0)),
    ("a\r\nb", 3, (1, 0), (1, 0), (1, 0)),
    ("a\r\nb", 2, (0, 1), (0, 1), (0, 1)),  # between CR and LF: line end
    ("a\rb", 2, (1, 0), (1, 0), (1, 0)),
    ("a\r\rb", 3, (2, 0), (2, 0), (2, 0)),
    ("a\n\rb", 3, (2, 0), (2, 0), (2, 0)),
    ("\tx", 1, (0, 1), (0, 1), (0, 1)),
    ("😀x", 1, (0, 4), (0, 2), (0, 1)),
    ("a😀b😀c", 4, (0, 10), (0, 6), (0, 4)),
    ("中文x", 2, (0, 6), (0, 2), (0, 2)),
    ("é\r\n😀\r中x", 6, (2, 3), (2, 1), (2, 1)),
]


@pytest.mark.parametrize(("text", "offset", "p8", "p16", "p32"), POSITION_CASES)
def test_position_and_back(
    text: str, offset: int, p8: tuple[int, int], p16: tuple[int, int], p32: tuple[int, int]
) -> None:
    idx = LineIndex(text)
    for enc, pos in ((U8, p8), (U16, p16), (U32, p32)):
        assert idx.position(offset, enc) == pos
        back = idx.offset(*pos, enc)
        # Only the CR/LF midpoint does not round-trip: it has no position of its own.
        assert back == offset or text[offset - 1 : offset + 1] == "\r\n"


LINE_CASES = [
    ("", [""]),
    ("x", ["x"]),
    ("\n", ["", ""]),
    ("a\nb", ["a", "b"]),
    ("a\nb\n", ["a", "b", ""]),
    ("a\r\nb\r\n", ["a", "b", ""]),
    ("a\rb\r", ["a", "b", ""]),
    ("a\r\r\nb", ["a", "", "b"]),
    ("a\n\r\nb", ["a", "", "b"]),
    ("\r\n\r\n", ["", "", ""]),
    ("a\u2028b\x0cc\x85d", ["a\u2028b\x0cc\x85d"]),  # only CR/LF end LSP lines
    ("\t\tx\n\ty", ["\t\tx", "\ty"]),
]


@pytest.mark.parametrize(("text", "lines"), LINE_CASES)
def test_lines(text: str, lines: list[str]) -> None:
    idx = LineIndex(text)
    assert idx.line_count == len(lines)
    assert [idx.line_text(i) for i in range(idx.line_count)] == lines


@pytest.mark.parametrize(
    ("text", "line", "char", "enc", "message"),
    [
        ("a\nb", 2, 0, U16, "line 2 is out of range"),
        ("", 1, 0, U16, "line 1 is out of range"),
        ("abc", 0, 4, U16, "beyond the end of line 0"),
        ("ab\r\ncd", 0, 3, U32, "beyond the end of line 0"),
        ("😀", 0, 1, U16, "inside a UTF-16 surrogate pair"),
        ("😀", 0, 3, U16, "beyond the end of line 0"),
        ("é", 0, 1, U8, "inside a multi-byte UTF-8 character"),
        ("中", 0, 2, U8, "inside a multi-byte UTF-8 character"),
        ("😀", 0, 3, U8, "inside a multi-byte UTF-8 character"),
        ("😀", 0, 5, U8, "beyond the end of line 0"),
        ("x", -1, 0, U16, "negative"),
        ("x", 0, -1, U16, "negative"),
    ],
)
def test_strict_errors(text: str, line: int, char: int, enc: PositionEncoding, message: str) -> None:
    with pytest.raises(PositionError, match=message):
        LineIndex(text).offset(line, char, enc)


def test_position_error_is_value_error() -> None:
    assert issubclass(PositionError, ValueError)
    with pytest.raises(PositionError, match="offset 5 is out of range"):
        LineIndex("abc").position(5)
    with pytest.raises(PositionError):
        LineIndex("abc").position(-1)


@pytest.mark.parametrize(
    ("text", "line", "char", "enc", "want"),
    [
        ("abc\ndef", 0, 99, U16, 3),
        ("abc\r\ndef", 0, 99, U16, 3),
        ("abc\ndef", 1, 99, U16, 7),
        ("abc\ndef", 5, 0, U16, 7),  # past the last line: end of document
        ("abc\n", 9, 9, U8, 4),
        ("", 3, 3, U32, 0),
        ("😀a", 0, 1, U16, 0),  # splits a pair: snaps to the character start
        ("中a", 0, 2, U8, 0),
        ("a😀", 0, 99, U16, 2),
        ("a😀", 0, 99, U8, 2),
    ],
)
def test_clamp(text: str, line: int, char: int, enc: PositionEncoding, want: int) -> None:
    assert LineIndex(text).offset(line, char, enc, clamp=True) == want


def test_utf16_positions_around_emoji_and_cjk() -> None:
    text = "x = '😀中😀'  # é\n\tb"
    idx = LineIndex(text)
    # "x = '" is 5 units, then 2 + 1 + 2.
    assert idx.offset(0, 5, U16) == 5
    assert idx.offset(0, 7, U16) == 6
    assert idx.offset(0, 8, U16) == 7
    assert idx.offset(0, 10, U16) == 8
    assert idx.offset(1, 1, U16) == text.index("b")
    assert idx.position(text.index("é"), U8) == (0, len("x = '😀中😀'  # ".encode()))


def test_lone_surrogate_does_not_crash() -> None:
    text = "a\ud800b\nc"
    check_against_reference(LineIndex(text), text)


@pytest.mark.parametrize(
    "text",
    ["", "\n", "\r", "\r\n", "a\rb\r\nc\nd", "😀\r\n中\ré\n\t", "x\n\n\r\r\n😀", "ab\r"],
)
def test_against_reference(text: str) -> None:
    check_against_reference(LineIndex(text), text)


def test_large_document() -> None:
    lines = [f"    value_{i} = compute({i}, '中😀')" if i % 50 == 0 else f"line {i}" for i in range(20_000)]
    text = "\n".join(lines)
    idx = LineIndex(text)
    assert idx.line_count == 20_000
    assert idx.line_text(19_999) == "line 19999"
    assert idx.offset(15_000, 4, U16) == text.index(lines[15_000]) + 4
    off = text.index("😀", text.index(lines[19_950]))
    assert idx.position(off, U16) == (19_950, lines[19_950].index("😀"))
    assert idx.position(off + 1, U16) == (19_950, lines[19_950].index("😀") + 2)


def test_encoding_values_match_lsprotocol() -> None:
    from lsprotocol.types import PositionEncodingKind

    assert {e.value for e in PositionEncoding} == {k.value for k in PositionEncodingKind}
    assert PositionEncoding("utf-16") is U16


# -- properties ----------------------------------------------------------------

PIECES = ["a", "b", " ", "\t", "é", "中", "😀", "𝕏", "\n", "\r", "\r\n", "\n\r"]
# Seeded fuzzing (no extra test dependency); the pieces make line breaks and
# multi-unit characters collide far more often than uniform text would.


def piece_text(rng: random.Random, max_pieces: int = 30) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randrange(max_pieces + 1)))


def any_char(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.3:
        return chr(rng.randrange(0x20, 0x7F))
    if pick < 0.4:
        return rng.choice("\n\r\t\x00\x0b\x0c\x1c\x85\u2028\u2029")
    if pick < 0.7:
        return chr(rng.choice([rng.randrange(0x80, 0xD800), rng.randrange(0xE000, 0x10000)]))
    return chr(rng.randrange(0x10000, 0x110000))


@pytest.mark.parametrize("seed", range(200))
def test_matches_reference(seed: int) -> None:
    text = piece_text(random.Random(seed))
    check_against_reference(LineIndex(text), text)


@pytest.mark.parametrize("seed", range(50))
def test_round_trip_any_text(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(any_char(rng) for _ in range(rng.randrange(60)))
    idx = LineIndex(text)
    for off in range(len(text) + 1):
        if text[off - 1 : off + 1] == "\r\n":
            continue
        for enc in ENCODINGS:
            assert idx.offset(*idx.position(off, enc), enc) == off


@pytest.mark.parametrize("seed", range(150))
def test_replace_matches_rebuild(seed: int) -> None:
    rng = random.Random(seed)
    text = piece_text(rng)
    idx = LineIndex(text)
    idx.byte_offset(0)  # byte tracking on from the start, maintained by replace
    lazy = LineIndex(text)  # byte tracking enabled only at the end
    for _ in range(rng.randrange(9)):
        start = rng.randrange(len(text) + 1)
        end = min(start + rng.randrange(6), len(text))
        new = piece_text(rng, 6)
        text = text[:start] + new + text[end:]
        idx.replace(start, end, new)
        lazy.replace(start, end, new)
        assert idx.line_starts() == LineIndex(text).line_starts()
    check_against_reference(idx, text)
    check_against_reference(lazy, text)


def test_replace_many_random_edits_far_apart() -> None:
    rng = random.Random(7)
    text = "".join(rng.choice(PIECES) for _ in range(3000))
    idx = LineIndex(text)
    idx.byte_offset(0)
    for _ in range(300):
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.randrange(4))
        new = "".join(rng.choice(PIECES) for _ in range(rng.randrange(4)))
        text = text[:start] + new + text[end:]
        idx.replace(start, end, new)
    fresh = LineIndex(text)
    assert idx.line_starts() == fresh.line_starts()
    for off in range(0, len(text) + 1, 7):
        assert idx.byte_offset(off) == fresh.byte_offset(off)
        assert idx.point(off) == fresh.point(off) == ref_tree_sitter_point(text, off)
        assert idx.position(off, U16) == fresh.position(off, U16)


def test_replace_rejects_bad_range() -> None:
    idx = LineIndex("abc")
    with pytest.raises(PositionError):
        idx.replace(2, 1, "")
    with pytest.raises(PositionError):
        idx.replace(0, 4, "")


def test_offset_table_against_list() -> None:
    from codellama_ls.documents.positions import _OffsetTable

    rng = random.Random(11)
    ref = sorted(rng.sample(range(100_000), 1000))
    table = _OffsetTable(list(ref))
    for _ in range(2000):
        lo = rng.randrange(len(ref) + 1)
        hi = min(len(ref), lo + rng.choice([0, 0, 1, 2, 50, 400]))
        floor = ref[lo - 1] if lo else 0
        ceil = ref[hi] if hi < len(ref) else floor + 1000
        new = sorted(rng.randrange(floor, ceil + 1) for _ in range(rng.choice([0, 0, 1, 3, 300])))
        top = new[-1] if new else floor
        shift = rng.randrange(top - ceil, 50) if hi < len(ref) else 0
        ref[lo:hi] = new
        ref[lo + len(new) :] = [v + shift for v in ref[lo + len(new) :]]
        table.replace(lo, hi, new, shift)
        assert len(table) == len(ref)
        if rng.random() < 0.1:
            assert table.to_list() == ref
            for _ in range(20):
                x = rng.randrange(-5, ref[-1] + 5) if ref else 0
                want = max((i for i, v in enumerate(ref) if v <= x), default=-1)
                assert table.find(x) == want
                if ref:
                    i = rng.randrange(len(ref))
                    assert table[i] == ref[i] and table[-1] == ref[-1]
    assert table.to_list() == ref
