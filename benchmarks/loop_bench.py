"""The event loop's own CPU time per keystroke and request, through the real Session, beside a full parse.

Run: python benchmarks/loop_bench.py [--lines N] [--requests N]

Each round is what the loop does for one keystroke of an editor that asks after every edit: a
one-character didChange, then an explicit completion request (the tree's incremental re-parse, the
snapshot, the answer, the request record). The scripted engine answers on the engine thread, whose
work is not counted. CPU time of the loop's thread (`time.thread_time`), not wall time, so that a
loaded machine moves the figure less: run it in two checkouts, one after the other, to compare them.
The baseline in the same run is the CPU time of one full tree-sitter parse of the file.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsprotocol import types

from codellama_ls.documents.languages import language_for, new_parser
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.session import Session

FUNCTION = '''
def function_{i}(values, limit={i}):
    """Sum the values below the limit."""
    total = 0
    for value in values:
        if value < limit:
            total += value
    return total
'''


async def rounds(lines: int, requests: int) -> tuple[list[float], str]:
    engine = ScriptedEngine("total += 1")
    session = Session(None, lambda settings, progress: engine, {})  # type: ignore[arg-type]  # no client
    await session.models.completion.load(session.settings, lambda message, done, total: None)
    text = "import os\n" + "".join(FUNCTION.format(i=i) for i in range(lines // 8))
    uri = "file:///bench.py"
    session.open(uri, "python", 1, text)
    doc = session.documents.get(uri)
    line = doc.line_count // 2
    while not doc.line_text(line).strip().startswith("total = 0"):
        line += 1
    column = len(doc.line_text(line))
    cpu: list[float] = []
    for n in range(requests):
        at = types.Position(line, column + n)
        change = types.TextDocumentContentChangePartial(range=types.Range(at, at), text="x")
        started = time.thread_time()
        session.change(uri, n + 2, [change])
        await session.suggest(uri, types.Position(line, column + n + 1), invoked=True)
        cpu.append((time.thread_time() - started) * 1000)
    session.models.completion.close()
    return cpu, doc.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    spec = language_for("python")
    assert spec is not None
    ts_parser = new_parser(spec)
    assert ts_parser is not None
    print(f"{'lines':>7} {'loop CPU p50':>13} {'mean':>9} {'full parse CPU':>15} {'p50 / full parse':>17}")
    for lines in args.lines:
        cpu, text = asyncio.run(rounds(lines, args.requests))
        source = text.encode()
        started = time.thread_time()
        ts_parser.parse(source)
        full = (time.thread_time() - started) * 1000
        p50 = statistics.median(cpu)
        print(f"{lines:>7} {p50:>11.2f}ms {statistics.mean(cpu):>7.2f}ms {full:>13.1f}ms {p50 / full:>16.3f}x")


if __name__ == "__main__":
    main()
