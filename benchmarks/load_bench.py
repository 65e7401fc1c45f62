"""Loading a model with its file mapped (`use_mmap=True`) or read (`use_mmap=False`, what the server does).

Run: python benchmarks/load_bench.py [--shape medium] [--model FILE] [--rounds 3]

Each load runs in a fresh process (llama-cpp-python directly, as llama.cpp's own default would): the time
to load plus one decode (which pages a mapped file in), and the process's resident memory split into
anonymous and file-backed pages. The file is read once beforehand so both start from the page cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.shaped_model import SHAPES, cached

ONE_LOAD = """
import json, sys, time
import llama_cpp
started = time.perf_counter()
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=512, use_mmap=sys.argv[2] == "1", verbose=False)
llm.eval([1])
elapsed = time.perf_counter() - started
memory = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("VmRSS", "RssAnon", "RssFile"):
        memory[key] = int(value.split()[0]) / 1024
print(json.dumps({"load_ms": elapsed * 1000, **memory}))
"""


def load_once(model: Path, mmap: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", ONE_LOAD, str(model), "1" if mmap else "0"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="medium")
    parser.add_argument("--model", type=Path, help="any GGUF instead of a generated one")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = args.model or cached(args.shape, Path(tempfile.gettempdir()) / "codellama-ls-bench")
    model.read_bytes()  # into the page cache, for both
    print(f"{model.name}: {model.stat().st_size / 2**20:.0f} MiB")
    print(f"{'use_mmap':>9} {'load + 1 decode p50':>20} {'RSS':>9} {'anonymous':>10} {'file-backed':>12}")
    for mmap in (True, False):
        runs = [load_once(model, mmap) for _ in range(args.rounds)]
        last = runs[-1]
        print(
            f"{mmap!s:>9} {statistics.median(r['load_ms'] for r in runs):>17.0f} ms "
            f"{last['VmRSS']:>6.0f} MiB {last['RssAnon']:>6.0f} MiB {last['RssFile']:>8.0f} MiB"
        )


if __name__ == "__main__":
    main()
