"""HumanEval infilling (openai/human-eval-infilling, MIT): pass@1 of the server's pipeline.

The single-line (1,033 tasks) and multi-line (5,815) sets are vendored in `data/human-eval-infilling/`
with their license; a missing file is fetched once into the user cache, with a clear message when
there is no network. Each task's hole is whole lines: the document is `prompt + "\\n" + suffix` with
the cursor on the empty line, as a user would ask on an empty line; the program run is
`prompt + suggestion + "\\n" + suffix + test + check(entry_point)`.

The tests run in a subprocess: isolated interpreter (`-I`), empty environment, a temporary working
directory, its own process group (killed whole on timeout), and resource limits (CPU seconds,
address space, file size, process count). That contains accidents, not a hostile program.
For Code Llama 7B the paper reports pass@1 of 83.3 (SPM) and 74.1 (PSM) on single-line infilling.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "human-eval-infilling"
FILES = {
    "single-line": "HumanEval-SingleLineInfilling.jsonl.gz",
    "multi-line": "HumanEval-MultiLineInfilling.jsonl.gz",
}
SOURCE = "https://github.com/openai/human-eval-infilling/raw/master/data/"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "codellama-ls" / "human-eval-infilling"


def data_file(benchmark: str) -> Path:
    name = FILES[benchmark]
    for folder in (DATA, _cache_dir()):
        if (folder / name).is_file():
            return folder / name
    target = _cache_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(SOURCE + name, timeout=20) as response:
            target.write_bytes(response.read())
    except (urllib.error.URLError, OSError) as exc:
        sys.exit(
            f"HumanEval infilling data {name} is neither in {DATA} nor in {target.parent}, and fetching it "
            f"from {SOURCE} failed ({exc}). Without network, copy the file from openai/human-eval-infilling "
            f"(data/{name}) into {target.parent}."
        )
    return target


def load(benchmark: str) -> list[dict[str, Any]]:
    with gzip.open(data_file(benchmark), "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _limits(cpu_s: int) -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))


def run_tests(program: str, timeout_s: float) -> tuple[bool, str]:
    """Run `program` in a sandboxed subprocess; (passed, why not)."""
    with tempfile.TemporaryDirectory(prefix="heval-") as folder:
        script = Path(folder) / "task.py"
        script.write_text(program, encoding="utf-8")
        cpu = int(timeout_s) + 1
        process = subprocess.Popen(
            [sys.executable, "-I", "-B", str(script)],
            cwd=folder,
            env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=lambda: _limits(cpu),
        )
        try:
            _, err = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return False, "timed out"
        if process.returncode == 0:
            return True, ""
        lines = err.decode("utf-8", "replace").strip().splitlines()
        return False, lines[-1] if lines else f"exit {process.returncode}"


def program_of(task: dict[str, Any], completion: str) -> str:
    return (
        task["prompt"]
        + completion
        + "\n"
        + task["suffix"]
        + "\n"
        + task["test"]
        + "\n"
        + f"check({task['entry_point']})\n"
    )


def run_humaneval(args: argparse.Namespace, model: Path) -> None:
    from benchmarks.baselines import Runner
    from codellama_ls.completion.pipeline import complete
    from codellama_ls.completion.snapshot import snapshot_of
    from codellama_ls.documents.document import Document

    tasks = load(args.humaneval)
    if args.limit:
        tasks = tasks[: args.limit]
    # A canonical solution must pass: checks the data and the sandbox before spending model time.
    ok, why = run_tests(program_of(tasks[0], tasks[0]["canonical_solution"].rstrip("\n")), args.timeout)
    if not ok:
        sys.exit(f"the canonical solution of {tasks[0]['task_id']} fails in the sandbox: {why}")
    runner = Runner(model, args.n_ctx, args.max_tokens, args.gpu_layers)
    settings = runner.settings
    passed = 0
    began = time.perf_counter()
    for index, task in enumerate(tasks):
        doc = Document(f"file:///heval/{index}.py", "python", 1, task["prompt"] + "\n" + task["suffix"])
        result = complete(runner.engine, snapshot_of(doc, len(task["prompt"])), settings, lambda: False)
        ok, why = run_tests(program_of(task, result.text), args.timeout)
        passed += ok
        if args.verbose:
            print(json.dumps({"task": task["task_id"], "passed": ok, "why": why, "completion": result.text})[:400])
        elif index % 25 == 24:
            print(f"  {index + 1}/{len(tasks)}: pass@1 so far {100 * passed / (index + 1):.1f}", flush=True)
    minutes = (time.perf_counter() - began) / 60
    print(
        f"HumanEval {args.humaneval} infilling, {model.name}, mode {result.plan.mode.value}: "
        f"pass@1 {100 * passed / len(tasks):.1f} ({passed}/{len(tasks)}) in {minutes:.1f} min"
    )
    runner.engine.close()
