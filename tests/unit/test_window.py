"""The prefix/suffix window: line boundaries, budget, suffix share."""

from __future__ import annotations

import pytest

from codellama_ls.completion.window import cut_window


def count(text: str) -> int:
    return len(text.split()) + text.count("\n")


def doc(lines: int) -> str:
    return "".join(f"line {i} a b c\n" for i in range(lines))


def test_whole_document_when_it_fits() -> None:
    text = doc(10)
    offset = text.index("line 5") + 4
    window = cut_window(text, offset, 10_000, count)
    assert window.prefix + window.suffix == text
    assert (window.start, window.end) == (0, len(text))


def test_cut_at_line_boundaries_with_suffix_share() -> None:
    text = doc(1000)
    offset = text.index("line 500 ") + 6
    window = cut_window(text, offset, 600, count, suffix_share=0.25)
    assert window.start == 0 or text[window.start - 1] == "\n"
    assert window.end == len(text) or text[window.end - 1] == "\n"
    assert count(window.suffix) <= 150
    assert count(window.prefix) <= 600 - count(window.suffix)
    assert count(window.prefix) > 330  # the prefix takes what the suffix leaves (less its room to grow)
    assert window.prefix.endswith("line 5") and window.suffix.startswith("00 a b c")


def test_short_suffix_leaves_budget_to_prefix() -> None:
    text = doc(1000)
    window = cut_window(text, len(text), 400, count)
    assert window.suffix == ""
    assert 400 * 3 // 4 - 20 < count(window.prefix) <= 400  # less the room to grow


@pytest.mark.parametrize("offset", [0, 1, 13])
def test_edges(offset: int) -> None:
    text = doc(3)
    window = cut_window(text, offset, 1000, count)
    assert window.prefix == text[:offset]


def test_huge_single_line_is_cut_not_dropped() -> None:
    text = "x = [" + "1, " * 100_000 + "]\n"
    offset = len(text) - 2
    window = cut_window(text, offset, 500, lambda s: len(s) // 2)
    assert text[window.start : offset] == window.prefix
    assert 0 < len(window.prefix) <= 1000


def test_offset_outside_document() -> None:
    with pytest.raises(ValueError):
        cut_window("abc", 4, 10, count)


def test_enclosing_scope_stays_whole_when_it_fits() -> None:
    text = doc(200)
    scope_start = text.index("line 100 ")
    scope_end = text.index("line 180 ")
    offset = text.index("line 110 ")
    window = cut_window(text, offset, 500, count, suffix_share=0.1, scopes=[(scope_start, scope_end)])
    assert window.end >= scope_end  # the rest of the function is in the suffix despite the small share
    assert window.start <= scope_start


def test_header_kept_when_file_is_trimmed() -> None:
    header = "import os\nimport sys\n\n"
    text = header + doc(2000)
    offset = text.index("line 1500 ")
    window = cut_window(text, offset, 300, count, header=(0, len("import os\nimport sys")))
    assert window.start > len(header)
    assert window.prefix.startswith("import os\nimport sys\n")
    assert window.header == "import os\nimport sys\n"
    assert window.prefix.endswith(text[window.start : offset])


def test_window_start_is_sticky_while_typing() -> None:
    text = doc(3000)
    offset = text.index("line 2000 ") + 8
    anchor = cut_window(text, offset, 400, count).start
    moves = 0
    for typed in range(1, 61):
        grown = text[:offset] + "x " * typed + text[offset:]
        window = cut_window(grown, offset + 2 * typed, 400, count, sticky_start=anchor)
        moves += window.start != anchor
        anchor = window.start
        assert count(window.prefix) + count(window.suffix) <= 400
    assert moves <= 1  # 60 words typed moved the prompt's start at most once


@pytest.mark.parametrize("up,kept", [(0.4, True), (0.6, True), (0.9, False)])
def test_the_anchor_stays_while_the_cursor_moves_up_by_half_the_room(up: float, kept: bool) -> None:
    text = doc(3000)
    offset = text.index("line 2000 ")
    anchor = cut_window(text, offset, 400, count).start
    room = 400 - count(cut_window(text, offset, 400, count).suffix)
    # Up by a share of the prefix's room, counted in tokens from the cursor line.
    moved = offset
    while count(text[moved:offset]) < up * room * 3 / 4:
        moved = text.rindex("\n", 0, moved - 1) + 1
    window = cut_window(text, moved, 400, count, sticky_start=anchor)
    assert (window.start == anchor) is kept
    assert count(window.prefix) + count(window.suffix) <= 400


def test_anchor_that_no_longer_fits_moves_with_room_to_grow() -> None:
    text = doc(3000)
    offset = text.index("line 2000 ")
    window = cut_window(text, offset, 400, count, sticky_start=text.index("line 10 "))
    assert window.start > text.index("line 10 ")
    assert count(window.prefix) <= 400 * 7 // 8 + 10


def test_the_suffix_keeps_in_proportion_to_the_lines_above_in_a_trimmed_window() -> None:
    text = doc(3000)
    offset = text.index("line 2000 ")
    anchor = cut_window(text, offset, 400, count).start
    moved = text.index("line 1990 ")  # up, the anchor kept with fewer lines above
    window = cut_window(text, moved, 400, count, sticky_start=anchor, suffix_cap=0.4)
    assert window.start == anchor
    assert count(window.suffix) <= 0.4 * count(text[anchor:moved])
    assert count(window.suffix) < count(cut_window(text, moved, 400, count, sticky_start=anchor).suffix)
    # At the top of a file nothing is trimmed: the suffix keeps its share.
    top = cut_window(text, text.index("line 3 "), 400, count, suffix_cap=0.4)
    assert top.start == 0 and count(top.suffix) > 0.15 * 400


@pytest.mark.parametrize("with_header", [False, True])
def test_the_anchor_stays_when_a_move_up_would_let_the_whole_top_of_the_file_fit(with_header: bool) -> None:
    # A larger context holds most of a file: a move up from a trimmed window must not jump to the
    # file's start, which would put new tokens first and re-evaluate the whole prompt.
    header_text = "import os\n\n" if with_header else ""
    text = header_text + doc(80)
    header = (0, len("import os")) if with_header else None
    offset = text.index("line 75 ")
    first = cut_window(text, offset, 400, count, header=header)
    assert first.start > 0
    moved = text.index("line 46 ")
    assert cut_window(text, moved, 400, count, header=header).start == 0  # what a fresh window does
    window = cut_window(text, moved, 400, count, header=header, sticky_start=first.start)
    assert window.start == first.start
    assert window.header == first.header
    assert window.prefix.startswith(first.header + text[first.start : first.start + 20])
    assert count(window.prefix) + count(window.suffix) <= 400
