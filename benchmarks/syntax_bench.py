"""Our own per-keystroke and per-call costs in a 5,000-line file, beside one full tree-sitter parse.

Run: python benchmarks/syntax_bench.py [--edits N] [--calls N]

- edit: a one-character didChange applied to the document (text, line index, UTF-8 copy,
  Tree.edit), typing in two places far apart so that no purely local cache helps; the
  re-parse is left out (it is deferred until the tree is read, and measured by
  context_bench.py). A regression to O(file) Python work per keystroke shows here.
- each syntax call the snapshot makes at the cursor, with the document's bytes passed.
The baseline in the same run is one full parse of the same file; the report gives each
figure and its ratio to it (these were unit-test time bounds once: machines are noisy, so
no test asserts a time).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsprotocol.types import Position, Range, TextDocumentContentChangePartial

from codellama_ls.documents import syntax
from codellama_ls.documents.document import Document
from codellama_ls.documents.languages import new_parser


def timed(call: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `repeat` calls, after one warm-up call."""
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def edit_ms(edits: int) -> float:
    line = "    result = compute_something(alpha, beta)  # note\n"
    text = "def f():\n" + line * 2500 + "def g():\n" + "    s = '中文 😀'\n" * 2498
    doc = Document("file:///w/big.py", "python", 1, text)
    assert doc.line_count == 5001 and doc.tree is not None
    started = time.perf_counter()
    for i in range(edits):
        row = 10 if i % 2 else 4000
        change = TextDocumentContentChangePartial(range=Range(Position(row, 8), Position(row, 8)), text="x")
        doc.apply_change(change, i + 2)
    return (time.perf_counter() - started) * 1000 / edits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()

    unit = "def f(a, b):\n    # comment\n    x = a + b\n    s = 'string'\n    \n    return x\n\n"
    text = "import os\nimport sys\n\n" + unit * 715  # about 5,000 lines
    doc = Document("file:///w/calls.py", "python", 1, text)
    tree, spec, source = doc.tree, doc.language, doc.source_bytes
    assert tree is not None and spec is not None
    byte = doc.byte_offset(len(text) - len(unit) + unit.index("    \n") + 4)
    assert syntax.enclosing_scopes(tree, spec, byte, source=source)
    ts_parser = new_parser(spec)
    assert ts_parser is not None
    full = timed(lambda: ts_parser.parse(source), max(args.calls // 5, 5))

    calls: list[tuple[str, Callable[[], object]]] = [
        ("in_comment_or_string", lambda: syntax.in_comment_or_string(tree, spec, byte, source=source)),
        ("enclosing_scopes", lambda: syntax.enclosing_scopes(tree, spec, byte, source=source)),
        ("header_span", lambda: syntax.header_span(tree, spec, source=source)),
    ]
    rows = [("edit (parse excluded)", edit_ms(args.edits))] + [(name, timed(call, args.calls)) for name, call in calls]
    print(f"full parse of {doc.line_count} lines: {full:.2f} ms (baseline)")
    print(f"{'per call':<24} {'p50':>9} {'/ full parse':>13}")
    for name, ms in rows:
        print(f"{name:<24} {ms:>7.3f}ms {ms / full:>12.4f}x")


if __name__ == "__main__":
    main()
