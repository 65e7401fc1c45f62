"""The quality benchmark's holes put back together give the file again; its sandbox runs tests."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.holes import KINDS, candidates, edit_similarity
from benchmarks.humaneval_infilling import run_tests
from benchmarks.quality_bench import paired

SOURCE = "".join(
    f"def function_{i}(values, limit={i}):\n"
    f"    total = 0\n"
    f"    for value in values:\n"
    f"        if value > limit:\n"
    f"            total += value\n"
    f"    return total\n\n"
    for i in range(12)
)


@pytest.mark.parametrize("kind", KINDS)
def test_a_hole_filled_with_its_expected_text_is_the_file(kind: str) -> None:
    holes = list(candidates(kind, "python", Path("example.py"), SOURCE, random.Random(0)))
    assert holes
    for hole in holes:
        before, after = hole.text[: hole.offset], hole.text[hole.offset :]
        assert before + hole.expected + after == SOURCE
        if not hole.multiline:
            assert "\n" not in hole.expected and hole.expected


def test_edit_similarity() -> None:
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("abc", "") == 0.0
    assert edit_similarity("return x", "return y") == pytest.approx(1 - 1 / 8)


def test_sandbox_reports_failures_and_timeouts() -> None:
    assert run_tests("assert 1 + 1 == 2\n", 10) == (True, "")
    assert run_tests("assert False, 'nope'\n", 10) == (False, "AssertionError: nope")
    assert run_tests("while True:\n    pass\n", 1) == (False, "timed out")


def test_the_paired_comparison_counts_holes_and_bounds_the_mean_difference() -> None:
    ours, theirs = [1.0, 0.5, 0.5, 0.2], [0.5, 0.5, 0.5, 0.4]
    better_worse, mean = paired(ours, theirs).split(" · ")
    assert better_worse == "1 / 1"
    low, high = (float(x) for x in mean.split("[")[1].rstrip("]").split(", "))
    assert mean.startswith("+0.075") and low <= 0.075 <= high
    assert paired([0.3] * 5, [0.3] * 5) == "0 / 0 · +0.000 [+0.000, +0.000]"
