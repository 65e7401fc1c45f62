"""What alternatives may cost: a share of the first generation's own time, as measured (pure).

A row riding along a decode step costs what the machine and the model make it cost: on this 2-core
CPU 0.6-0.9 of a step for SmolLM2-135M, about 0.4 for the 1.3B shape, next to nothing on a GPU
(benchmarks/README.md). A fixed number of rows per step suits one of them only, so the engine times
its steps and `BranchBudget` prices the rows: a step of the first generation alone gives its own
step time; a step with branch rows costs that plus their extra.

The branches may cost, all told, `share` of the first generation's own steps and `prompt_share`
(less) of its prompt's evaluation. Rows ride along while their extra stays within `riding` of that
allowance so far; once the first generation ends, they go on in lockstep while a step is predicted
to end before the deadline, and a branch is given up at once where even half of what the first
suggestion took after its branch point would not fit. A request with alternatives then takes at
most about `1 + share` times one suggestion, whatever the machine; one that evaluated a long prompt
(a file just opened), much less: its branches cost what they cost in a warm request, and a second
more spent on them would be a second of waiting for branches that run on (a line that never ends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Each new measurement's weight in the running estimates: steps of one row swing by 10-30 %.
_WEIGHT = 0.3


def _blend(old: float | None, new: float) -> float:
    return new if old is None else old + _WEIGHT * (new - old)


@dataclass
class BranchBudget:
    share: float
    """All the branches' time (riding rows' extra and lockstep steps), of the first generation's own steps."""
    riding: float
    """The most of the allowance so far that the riding rows' extra may take."""
    prompt_share: float = 0.2
    """The branches' time, of the prompt's evaluation."""
    prompt_s: float = 0.0
    steps_s: float = 0.0
    """The first generation's own steps: their time without the branches' rows."""
    extra_s: float = 0.0
    """What the branches cost so far: the riding rows' extra, then the lockstep steps."""
    step_s: float | None = None
    """A step of the first generation alone (one row), a running estimate; the engine carries it
    from request to request, so a short suggestion's branches need not wait for a step to be timed."""
    row_s: float | None = None
    """What one more row adds to a step, a running estimate (a step's time until one is measured)."""
    deadline: float | None = None
    """When the lockstep steps must be done (`close`); None while the first generation runs."""
    _lockstep: dict[int, float] = field(default_factory=dict)
    """The last lockstep step's time by its rows."""

    def prompt(self, seconds: float) -> None:
        """The prompt's evaluation: part of the first generation's own time."""
        self.prompt_s += max(seconds, 0.0)

    def stepped(self, seconds: float, own_rows: int, riding_rows: int) -> None:
        """One decode step of the first generation: `own_rows` its own (drafted tokens included),
        `riding_rows` the branches'."""
        seconds = max(seconds, 0.0)
        if self.step_s is None or riding_rows == 0:
            self.steps_s += seconds
            if own_rows == 1 and riding_rows == 0:
                self.step_s = _blend(self.step_s, seconds)
            return
        own = min(seconds, self.step_s + (own_rows - 1) * self.row_cost())
        self.steps_s += own
        self.extra_s += seconds - own
        self.row_s = _blend(self.row_s, (seconds - own) / riding_rows)

    def row_cost(self) -> float:
        assert self.step_s is not None
        return self.step_s if self.row_s is None else self.row_s

    def riding_room(self) -> int:
        """How many branch rows may ride along the next step (none until a step alone is timed)."""
        if self.step_s is None or self.deadline is not None:
            return 0
        left = self.riding * (self.allowance() + self.share * self.step_s) - self.extra_s
        return max(int(left / max(self.row_cost(), 1e-9)), 0)

    def close(self, now: float) -> None:
        """The first generation ended at `now`: what is left of the share is the lockstep's."""
        self.deadline = now + max(self.allowance() - self.extra_s, 0.0)

    def allowance(self) -> float:
        """What the branches may cost, all told, so far."""
        return self.share * self.steps_s + min(self.prompt_share, self.share) * self.prompt_s

    def may_step(self, now: float, rows: int) -> bool:
        """Whether a lockstep step of `rows` rows is predicted to end before the deadline."""
        if self.deadline is None:
            return True
        predicted = self._predicted(rows)
        # No step timed yet (a suggestion of a token or two): this one will be.
        return now + (predicted or 0.0) <= self.deadline

    def may_finish(self, now: float, steps: int) -> bool:
        """Whether `steps` lockstep steps of one row are predicted to end before the deadline: a
        branch that cannot finish in time is given up before its steps are spent on it."""
        if self.deadline is None:
            return True
        step = self._predicted(1)
        return step is None or now + steps * step <= self.deadline

    def _predicted(self, rows: int) -> float | None:
        """A lockstep step of `rows` rows: as last measured, else from the first generation's steps."""
        if rows in self._lockstep:
            return self._lockstep[rows]
        if self.step_s is None:
            return None
        return self.step_s + (rows - 1) * self.row_cost()

    def stepped_lockstep(self, seconds: float, rows: int) -> None:
        self._lockstep[rows] = max(seconds, 0.0)
        self.extra_s += max(seconds, 0.0)
