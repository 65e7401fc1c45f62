"""The next-edit benchmark's cases load, their hunks give each commit's text again, and a prediction is
scored as the benchmark says (no model)."""

from __future__ import annotations

import hashlib

import pytest

from benchmarks.nextedit_cases import (
    Case,
    Edit,
    Hunk,
    apply_hunks,
    exact,
    load,
    location_found,
    similarity,
    situation,
    verify,
)
from benchmarks.nextedit_extract import parse_hunks, small_and_close


def test_every_case_loads_and_its_hunks_apply_cleanly() -> None:
    cases = load()
    assert {c.split for c in cases} == {"dev", "reported"}
    assert {c.repo for c in load("dev")}.isdisjoint({c.repo for c in load("reported")})
    assert len({(c.repo, c.commit) for c in cases}) == len(cases)
    for case in cases:
        verify(case)
        assert 2 <= len(case.hunks) <= 5
        starts = [h.start for h in case.hunks]
        assert starts == sorted(starts)


def test_a_situation_applies_the_history_one_hunk_at_a_time() -> None:
    for case in load():
        for applied in range(1, len(case.hunks)):
            s = situation(case, applied)
            lines = case.before.split("\n")
            for hunk in s.history:
                lines = apply_hunks(lines, [hunk])
            assert "\n".join(lines) == s.text
            # The next hunk's old lines sit where the situation says; the cursor ends the last edit.
            text = s.text.split("\n")
            assert text[s.target.start : s.target.start + len(s.target.old)] == list(s.target.old)
            row, column = s.cursor
            assert 0 <= row < len(text) and column <= len(text[row])
            assert s.text[: s.cursor_offset].split("\n")[-1] == text[row][:column]
            versions = s.versions()
            assert len(versions) == applied + 1 and versions[-1] == s.text
        last = situation(case)
        assert "\n".join(apply_hunks(last.before.split("\n"), case.hunks)).split("\n") == last.expected.split("\n")


def _case() -> Case:
    before = "def f(a, b):\n    return g(a, b)\n\n\ndef h(a, b):\n    return g(a, b)\n"
    lines = before.split("\n")
    hunks = (
        Hunk(0, ("def f(a, b):",), ("def f(a, c):",)),
        Hunk(1, ("    return g(a, b)",), ("    return g(a, c)",)),
        Hunk(4, ("def h(a, b):",), ("def h(a, c):",)),
    )
    after = "\n".join(apply_hunks(lines, hunks))
    return Case(
        "x/y", "0" * 40, "dev", "f.py", "python", "rename", 0, before, hunks, hashlib.sha1(after.encode()).hexdigest()
    )


def test_scores_of_a_prediction() -> None:
    s = situation(_case())
    assert s.cursor == (1, len("    return g(a, c)"))
    assert s.target.start == 4
    start = s.text.index("def h(a, b)") + len("def h(a, ")
    right = [Edit(start, start + 1, "c")]
    assert location_found(s, right) and exact(s, right) and similarity(s, right) == 1.0
    wrong_text = [Edit(start, start + 1, "d")]
    assert location_found(s, wrong_text) and not exact(s, wrong_text)
    assert 0.0 < similarity(s, wrong_text) < 1.0
    elsewhere = [Edit(0, 3, "async def")]
    assert not location_found(s, elsewhere) and not exact(s, elsewhere)
    assert not location_found(s, []) and not exact(s, []) and similarity(s, []) == 0.0
    # Right, plus an extra change: found, not exact.
    extra = [*right, Edit(0, 0, "# x\n")]
    assert location_found(s, extra) and not exact(s, extra)


def test_an_insertion_is_found_by_an_edit_on_either_neighbouring_line() -> None:
    case = _case()
    s = situation(case)
    insertion = Hunk(4, (), ("@cached",))
    s = type(s)(s.case, s.before, s.history, s.text, s.cursor, insertion, s.expected)
    end_of_line_above = s.text.split("\n")
    offset = sum(len(x) + 1 for x in end_of_line_above[:3]) + len(end_of_line_above[3])
    assert location_found(s, [Edit(offset, offset, "\n@cached")])
    assert not location_found(s, [Edit(0, 0, "@cached\n")])


def test_extraction_reads_gits_zero_context_hunks() -> None:
    before = ["a", "b", "c", "d", "e"]
    diff = "@@ -2 +2 @@\n-b\n+B\n@@ -3,0 +4,2 @@\n+x\n+y\n@@ -5 +6,0 @@\n-e\n"
    hunks = parse_hunks(diff, before)
    assert hunks == [Hunk(1, ("b",), ("B",)), Hunk(3, (), ("x", "y")), Hunk(4, ("e",), ())]
    assert apply_hunks(before, hunks) == ["a", "B", "c", "x", "y", "d"]
    assert small_and_close(hunks)
    assert parse_hunks("@@ -1 +1 @@\n-z\n+y\n", before) is None  # does not match the file
    assert not small_and_close([Hunk(0, ("a ",), ("a",)), Hunk(2, ("c",), (" c",))])  # whitespace only


@pytest.mark.parametrize("applied", [0, 3])
def test_a_situation_needs_history_and_a_next_hunk(applied: int) -> None:
    with pytest.raises(ValueError):
        situation(_case(), applied)
