"""What alternatives may cost (`engine/branch_budget.py`): rows priced by measured step times, and a
request with alternatives within about 1 + share times one suggestion whatever a row costs.

The simulation below plays an engine against a fake clock: a first generation of `steps` steps
whose branch rows ride along as `riding_room()` allows, each row adding `row` of a step, then
lockstep steps of one row while `may_step` allows; what it measures is what the engine reports."""

from __future__ import annotations

import pytest

from codellama_ls.engine.branch_budget import BranchBudget

STEP = 0.010  # a step of the first generation alone


def simulate(
    steps: int, prompt: float, row: float, wanted_rows: int, share: float = 0.5, known: bool = False
) -> tuple[float, float, int]:
    """(the request's time, one suggestion's time, branch rows decoded)."""
    budget = BranchBudget(share, share * 0.6, step_s=STEP if known else None, row_s=row * STEP if known else None)
    now = prompt
    budget.prompt(prompt)
    decoded = 0
    for _ in range(steps):
        riding = min(budget.riding_room(), wanted_rows - decoded)
        seconds = STEP + riding * row * STEP
        now += seconds
        budget.stepped(seconds, 1, riding)
        decoded += riding
    budget.close(now)
    while decoded < wanted_rows and budget.may_step(now, 1):
        now += STEP  # a lockstep step of one row costs a step
        budget.stepped_lockstep(STEP, 1)
        decoded += 1
    return now, prompt + steps * STEP, decoded


@pytest.mark.parametrize("row", [0.02, 0.4, 0.8, 1.0])  # a GPU, the 1.3B shape, SmolLM2, a slow CPU
@pytest.mark.parametrize("steps", [2, 8, 40])
@pytest.mark.parametrize("prompt", [STEP, 200 * STEP])  # warm (the last token again), cold
@pytest.mark.parametrize("known", [False, True])  # costs carried from an earlier request, or not
def test_a_request_with_alternatives_takes_at_most_one_and_a_half_suggestions(
    row: float, steps: int, prompt: float, known: bool
) -> None:
    took, one, _ = simulate(steps, prompt, row, wanted_rows=1000, known=known)
    assert took <= 1.5 * one + 1e-9


def test_cheap_rows_ride_along_and_dear_ones_mostly_wait() -> None:
    _, _, cheap = simulate(20, STEP, 0.02, wanted_rows=1000, known=True)
    _, _, dear = simulate(20, STEP, 0.8, wanted_rows=1000, known=True)
    assert cheap > 20 * 2  # two branches' rows in every step, and more
    assert dear < 20


def test_no_row_rides_until_a_step_alone_is_timed() -> None:
    budget = BranchBudget(0.5, 0.3)
    budget.prompt(1.0)  # a long prompt: plenty of allowance, but no step's cost known
    assert budget.riding_room() == 0
    budget.stepped(STEP, 1, 0)
    assert budget.step_s == STEP and budget.riding_room() > 0


def test_a_riding_step_is_split_into_the_first_generations_time_and_the_rows_extra() -> None:
    budget = BranchBudget(0.5, 0.3, step_s=STEP)
    budget.stepped(STEP + 0.006, 1, 2)
    assert budget.steps_s == pytest.approx(STEP) and budget.extra_s == pytest.approx(0.006)
    assert budget.row_s == pytest.approx(0.003)


def test_the_prompt_buys_less_than_the_steps() -> None:
    budget = BranchBudget(0.5, 0.3, prompt_share=0.2)
    budget.prompt(1.0)
    budget.stepped(0.1, 1, 0)
    assert budget.allowance() == pytest.approx(0.2 * 1.0 + 0.5 * 0.1)


def test_lockstep_steps_stop_before_the_deadline_not_after() -> None:
    budget = BranchBudget(0.5, 0.3, step_s=STEP)
    for _ in range(4):
        budget.stepped(STEP, 1, 0)  # the first generation: 40 ms, so 20 ms for the branches
    budget.close(now=0.0)
    assert budget.may_step(0.0, 1) and budget.may_step(STEP, 1)
    assert not budget.may_step(STEP + 0.001, 1)
    budget.stepped_lockstep(0.015, 2)  # measured: a step of two rows takes 15 ms here
    assert not budget.may_step(0.006, 2)


def test_a_suggestion_too_short_to_time_a_step_still_lets_a_lockstep_step_try() -> None:
    budget = BranchBudget(0.5, 0.3)
    budget.prompt(0.2)
    budget.close(now=0.0)
    assert budget.may_step(0.0, 1) and not budget.may_step(0.05, 1)


def test_a_branch_may_finish_only_if_its_predicted_steps_end_before_the_deadline() -> None:
    budget = BranchBudget(0.5, 0.3, step_s=STEP)
    assert budget.may_finish(0.0, 1000)  # the first generation still runs: no deadline yet
    for _ in range(6):
        budget.stepped(STEP, 1, 0)
    budget.close(now=0.0)  # 30 ms for the branches: three steps
    assert budget.may_finish(0.0, 3) and not budget.may_finish(0.0, 4)
    budget.stepped_lockstep(0.015, 1)  # a lockstep step measured slower here: two fit
    assert budget.may_finish(0.0, 2) and not budget.may_finish(0.0, 3)
