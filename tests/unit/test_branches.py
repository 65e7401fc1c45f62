"""Alternatives' branches (`engine/branches.py`): which beginnings get a branch, when, in which KV
sequence, and what each branch reads back, against a fake cache and a scripted "model".

The llama-backed behaviour (a branch is greedy decoding after its first tokens) is in
test_alternatives.py; this is the bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from codellama_ls.engine.base import GenerationStats
from codellama_ls.engine.branch_budget import BranchBudget
from codellama_ls.engine.branches import Branches, Row, Trace

VOCAB = 16
END = 0
FIRST = 2  # the first branch's KV sequence


def logits(chosen: int, **others: float) -> np.ndarray:
    """A row whose argmax is `chosen` (probability near 1 - the others), with runner-ups `t<N>=p`."""
    probabilities = np.full(VOCAB, 1e-9)
    for name, p in others.items():
        probabilities[int(name[1:])] = p
    probabilities[chosen] = 1.0 - sum(others.values())
    return np.log(probabilities)


class Fake:
    """Sequence 0 and the branches' sequences as token lists; a branch's next token is scripted by
    what its sequence holds after the shared context."""

    def __init__(self, context: list[int], first: list[int], after: dict[tuple[int, ...], int]) -> None:
        self.context = context
        self.first = first
        self.after = after
        self.seqs: dict[int, list[int]] = {0: [*context, *first]}
        self.ops: list[tuple[str, int, int]] = []
        self.decodes: list[list[Row]] = []

    def copy(self, sequence: int, end: int) -> None:
        self.ops.append(("cp", sequence, end))
        assert not self.seqs.get(sequence), "a branch starts in an empty sequence"
        self.seqs[sequence] = self.seqs[0][:end]

    def drop(self, sequence: int) -> None:
        self.ops.append(("rm", sequence, 0))
        self.seqs[sequence] = []

    def decode(self, rows: list[Row]) -> np.ndarray:
        self.decodes.append(rows)
        out = []
        for token, position, sequence in rows:
            cells = self.seqs[sequence]
            assert position == len(cells), "a row continues its sequence"
            cells.append(token)
            generated = tuple(cells[len(self.context) :])
            out.append(logits(self.after.get(generated, END)))
        return np.array(out)


def piece(token: int) -> bytes:
    return b"" if token == END else bytes([ord("a") + token])


def make(
    fake: Fake,
    count: int,
    max_tokens: int = 8,
    finished: Callable[[str], bool] | None = None,
    prompt_tokens: int | None = None,
) -> Branches:
    trace = Trace(others=count, piece=piece, is_end=lambda t: t == END)
    trace.context = list(fake.context)
    prompt = len(fake.context) if prompt_tokens is None else prompt_tokens
    return Branches(trace, count, max_tokens, FIRST, fake.copy, fake.drop, fake.decode, lambda: False, finished, prompt)


def read(branches: Branches, index: int, prompt_tokens: int | None = None) -> tuple[str, GenerationStats]:
    stats = GenerationStats()
    prompt = len(branches.trace.context) if prompt_tokens is None else prompt_tokens
    text = "".join(branches.pieces(index, stats, prompt, piece))
    return text, stats


def test_branches_start_at_the_likeliest_beginnings_and_ride_along_the_first_generation() -> None:
    # The first generation writes 5 6 7; at its first token the model hesitated (token 9 at 0.3),
    # at its second a little (token 10 at 0.1).
    fake = Fake([1, 1], [5, 6, 7], {(9,): 11, (9, 11): 12, (5, 10): 13})
    branches = make(fake, count=2)
    trace = branches.trace
    trace.note(logits(5, t9=0.3), 5)
    assert branches.rows() == [(9, 2, FIRST)]  # a branch at the first position, sharing the context
    assert fake.ops == [("rm", FIRST, 0), ("cp", FIRST, 2)]
    branches.took(fake.decode([(9, 2, FIRST)]), [(9, 2, FIRST)])
    trace.note(logits(6, t10=0.1), 6)
    rows = branches.rows()
    assert rows == [(11, 3, FIRST), (10, 3, FIRST + 1)]  # the second shares the first token too
    branches.took(fake.decode(rows), rows)
    trace.note(logits(7), 7)
    trace.taken = 3
    assert branches.settle() == [0, 1]  # likeliest first
    assert read(branches, 0)[0] == "jlm"  # 9 11 12, then the end
    text, stats = read(branches, 1)
    assert text == "fkn" and stats.stop_reason == "eot"  # 5 10 13
    assert np.isclose(stats.logprob, np.log(0.7) + np.log(0.1), atol=1e-3)
    branches.release()
    assert fake.seqs[FIRST] == [] and fake.seqs[FIRST + 1] == []


def test_a_likelier_beginning_found_later_replaces_the_least_likely_branch() -> None:
    fake = Fake([1], [5, 6, 7], {})
    branches = make(fake, count=1)
    trace = branches.trace
    trace.note(logits(5, t9=0.05), 5)
    assert branches.rows() == [(9, 1, FIRST)]
    trace.note(logits(6, t10=0.4), 6)  # 0.95 * 0.4 beats 0.05
    assert branches.rows() == [(10, 2, FIRST)]
    assert fake.ops[-2:] == [("rm", FIRST, 0), ("cp", FIRST, 2)]


def test_after_the_first_suggestion_only_branches_within_what_it_took_remain() -> None:
    fake = Fake([1], [5, 6, 7, 8], {(5, 6, 9): 12})
    branches = make(fake, count=2)
    trace = branches.trace
    trace.note(logits(5), 5)
    trace.note(logits(6), 6)
    trace.note(logits(7, t9=0.2), 7)
    trace.note(logits(8, t10=0.3), 8)
    assert [row[0] for row in branches.rows()] == [10, 9]
    # The stop rules took two tokens: a branch at position 3 (or 2) only repeats the suggestion
    # and goes on where it ended.
    trace.taken = 2
    assert branches.settle() == []
    # Taken three: the branch at position 2 stays and is decoded in lockstep when read.
    branches = make(Fake([1], [5, 6, 7, 8], {(5, 6, 9): 12}), count=2)
    for row in ([5], [6], [7, 9], [8, 10]):
        branches.trace.note(logits(row[0], **({f"t{row[1]}": 0.2} if len(row) > 1 else {})), row[0])
    branches.trace.taken = 3
    assert branches.settle() == [0]
    assert read(branches, 0)[0] == "fgjm"


def test_no_branch_where_the_first_generation_ends_nor_for_a_smaller_spelling_nor_an_unlikely_token() -> None:
    def spelled(token: int) -> bytes:
        return {5: b"self", 9: b"s", 10: b"x", 11: b"y"}.get(token, b"")

    trace = Trace(others=3, piece=spelled, is_end=lambda t: t == END)
    # "s" starts "self": the same text in smaller pieces; "y" at 0.05 % is no hesitation.
    trace.note(logits(5, t9=0.3, t10=0.2, t11=0.0005), 5)
    trace.note(logits(END, t10=0.4), END)  # going on where it ended only lengthens it
    assert [(c.position, c.token) for c in trace.best(5)] == [(0, 10)]


def test_a_failed_decode_ends_the_branches_and_the_first_goes_on() -> None:
    fake = Fake([1], [5, 6], {})
    branches = make(fake, count=1)
    branches.trace.note(logits(5, t9=0.3), 5)
    rows = branches.rows()
    branches.took(None, rows)
    assert branches.failed and branches.rows() == []
    branches.trace.note(logits(6), 6)
    branches.trace.taken = 2
    assert branches.settle() == [0]
    text, stats = read(branches, 0)
    assert text == "j"
    assert stats.stop_reason == "cancelled"  # unfinished: the pipeline drops it


def ride(branches: Branches, fake: Fake, runners_up: dict[int, dict[str, float]]) -> None:
    """The first generation's steps: each notes its token (with `runners_up` at its position) and
    decodes the branches' rows with it."""
    for position, token in enumerate(fake.first):
        branches.trace.note(logits(token, **runners_up.get(position, {})), token)
        rows = branches.rows()
        if rows:
            branches.took(fake.decode(rows), rows)
    branches.trace.taken = len(fake.first)


@pytest.mark.parametrize(
    ("finished", "text", "stop_reason", "rows"),
    [
        (None, "jlmk", "eot", 4),  # no rule: rows until its end token (the last in lockstep)
        (lambda text: text.endswith("l"), "jl", "finished", 1),  # "l" ends it: no row after it
        (lambda text: "m" in text, "jlm", "finished", 2),
        (lambda text: True, "j", "finished", 0),  # done with its first token: never a row
    ],
)
def test_a_branch_finished_by_the_consumers_rules_gets_no_more_rows(
    finished: Callable[[str], bool] | None, text: str, stop_reason: str, rows: int
) -> None:
    # The first generation writes 5 6 7; at its first token the model hesitated (token 9 at 0.3);
    # that branch goes on 11 12 10 (ending) where nothing stops it earlier.
    fake = Fake([1, 1], [5, 6, 7], {(9,): 11, (9, 11): 12, (9, 11, 12): 10})
    branches = make(fake, count=1, finished=finished)
    ride(branches, fake, {0: {"t9": 0.3}})
    assert branches.settle() == [0]
    got, stats = read(branches, 0)
    assert (got, stats.stop_reason) == (text, stop_reason)
    assert branches.decoded_rows == rows
    assert fake.decodes.count([]) == 0


def test_finished_reads_the_text_from_the_start_of_the_suggestion() -> None:
    # The prompt is [1]; token 3 ("d") re-spells the text before the cursor (token healing): the
    # rule reads it, then the first generation's tokens before the branch point, then the branch's.
    seen: list[str] = []

    def finished(text: str) -> bool:
        seen.append(text)
        return len(text) >= 4

    fake = Fake([1, 3], [5, 6, 7], {(5, 9): 11, (5, 9, 11): 12})
    branches = make(fake, count=1, finished=finished, prompt_tokens=1)
    ride(branches, fake, {1: {"t9": 0.3}})
    assert seen == ["dfj", "dfjl"]
    assert branches.settle() == [0]
    text, stats = read(branches, 0, prompt_tokens=1)
    assert (text, stats.generated_tokens, stats.stop_reason) == ("dfjl", 4, "finished")


class Clock:
    """A fake `perf_counter`: decodes advance it (`Timed`)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Timed(Fake):
    """Each decode takes a step and `row` of a step per row more."""

    def __init__(self, clock: Clock, row: float, *args: Any) -> None:
        super().__init__(*args)
        self.clock, self.row = clock, row

    def decode(self, rows: list[Row]) -> np.ndarray:
        self.clock.now += STEP * (1 + self.row * (len(rows) - 1))
        return super().decode(rows)


STEP = 2**-7  # a step's seconds, exact in binary: the deadline's comparisons are exact


class Going(dict[tuple[int, ...], int]):
    """A script whose branches go on (token 3) wherever it says nothing."""

    def get(self, key: tuple[int, ...], default: object = None) -> int:  # type: ignore[override]
        return dict.get(self, key, 3)


def budgeted(fake: Fake, clock: Clock, count: int = 2, riding: float = 0.3, share: float = 0.5) -> Branches:
    trace = Trace(others=count, piece=piece, is_end=lambda t: t == END)
    trace.context = list(fake.context)
    budget = BranchBudget(share, riding, step_s=STEP)
    return Branches(trace, count, 16, FIRST, fake.copy, fake.drop, fake.decode, lambda: False, None, 1, budget, clock)


def run_first(
    branches: Branches, fake: Fake, row: float, runner_ups: dict[str, float], at: int = 0, taken: int | None = None
) -> list[int]:
    """The first generation's steps, timed as the engine times them, with `runner_ups` at position
    `at`; the consumer took `taken` of its tokens (all by default). Returns the rows that rode in each."""
    seen = []
    for position, token in enumerate(fake.first):
        branches.trace.note(logits(token, **(runner_ups if position == at else {})), token)
        rows = branches.rows()
        seen.append(len(rows))
        if rows:
            branches.took(fake.decode(rows), rows)
        branches.stepped(STEP * (1 + row * len(rows)), 1, len(rows))
    branches.trace.taken = len(fake.first) if taken is None else taken
    return seen


@pytest.mark.parametrize(
    ("row", "rows_in_steps"),
    [
        (0.02, [2, 2, 2, 2, 2, 2]),  # rows that cost next to nothing (a GPU): every branch, every step
        (0.8, [0, 0, 0, 0, 0, 1]),  # dear rows (SmolLM2 on a CPU): once the allowance pays for one
    ],
)
def test_what_a_row_costs_decides_how_many_ride_along(row: float, rows_in_steps: list[int]) -> None:
    fake = Fake([1], [5, 6, 7, 8, 9, 10], Going())
    branches = budgeted(fake, Clock())
    assert branches.budget is not None
    branches.budget.row_s = row * STEP
    assert run_first(branches, fake, row, {"t11": 0.3, "t12": 0.2}) == rows_in_steps


def test_without_a_budget_every_branch_rides_in_every_step() -> None:
    fake = Fake([1], [5, 6, 7, 8], Going())
    branches = make(fake, count=2)
    assert run_first(branches, fake, 0.8, {"t11": 0.3, "t12": 0.2}) == [2, 2, 2, 2]


def test_under_a_budget_lockstep_decodes_the_branch_being_read_and_stops_at_the_deadline() -> None:
    # Two branches at the first position; the first generation is six steps, so three for them.
    clock = Clock()
    fake = Timed(clock, 0.8, [1], [5, 6, 7, 8, 9, 10], {(11,): 3, (11, 3): 4, (12,): 3})
    branches = budgeted(fake, clock, riding=0.0)  # none rides: all in lockstep
    # The suggestion took three tokens: a branch is predicted to need half of that, a step or two.
    assert run_first(branches, fake, 0.8, {"t11": 0.3, "t12": 0.2}, taken=3) == [0] * 6
    clock.now = 6 * STEP
    assert branches.settle() == [0, 1]
    text, stats = read(branches, 0, prompt_tokens=1)
    assert (text, stats.stop_reason) == ("lde", "eot")  # 11 3 4: three lockstep steps of its row alone
    assert [len(rows) for rows in fake.decodes] == [1, 1, 1]
    text, stats = read(branches, 1, prompt_tokens=1)
    assert (text, stats.stop_reason) == ("m", "cancelled")  # 12, then no step fits before the deadline
    assert clock.now == 9 * STEP


def test_a_branch_predicted_not_to_finish_in_time_is_given_up_before_its_steps_are_spent() -> None:
    # The first generation is nine steps and the share an eighth: a step and a bit for the branches.
    # At position 0 the model hesitated (token 11): half the suggestion is predicted to be left, four
    # steps: given up. At position 8 (token 12): one step to go, and it fits.
    clock = Clock()
    fake = Timed(clock, 0.8, [1], [5, 6, 7, 8, 9, 10, 13, 14], {})
    branches = budgeted(fake, clock, riding=0.0, share=1 / 8)
    run_first(branches, fake, 0.8, {"t11": 0.3}, at=0)
    branches.trace.note(logits(15, t12=0.4), 15)  # a ninth token, the consumer's last
    branches.stepped(STEP, 1, 0)
    branches.trace.taken = 9
    clock.now = 9 * STEP
    order = branches.settle()
    sequences = [branches.branches[i].candidate.position for i in order]
    assert sorted(sequences) == [0, 8]
    texts = {branches.branches[i].candidate.position: read(branches, i, prompt_tokens=1) for i in order}
    assert texts[0][1].stop_reason == "cancelled" and texts[0][0] == "l"  # its token, and no step spent on it
    assert texts[8][1].stop_reason == "eot" and texts[8][0] == "fghijknom"  # the first's eight tokens, then 12
    assert fake.decodes == [[(12, 9, branches.branches[order[sequences.index(8)]].sequence)]]  # its one step
