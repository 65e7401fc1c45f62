"""Context building + post-processing per request, beside a full re-parse, on 500 / 5,000 / 20,000-line files.

Run: python benchmarks/context_bench.py [--requests N] [--no-server]

Per keystroke the document takes a one-character edit and its incremental tree-sitter
re-parse (reported apart: it happens for every edit, requested or not). Per request, minus
the model: read the syntax facts, cut the window, build the prompt (a character-level
tokenizer) and post-process a two-line suggestion including the syntax check. The baseline
in the same run is one full tree-sitter parse of the same file; the report gives both and
their ratio (no absolute targets are asserted here: machines are noisy, compare within a run).

Then the same per request on a 1.9 MB one-line minified JavaScript file (`tests/support/minified.py`, or
`--bundle FILE`'s longest line repeated) beside the same code with a line break before each
function (a normal file of the same size and content); and, end to end over stdio with the
scripted engine, how long a `codellama/status` request sent right after a completion request
waits on each file.
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

from codellama_ls.completion.pipeline import complete
from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.documents.languages import language_for, new_parser
from codellama_ls.engine.base import GenerationRequest, GenerationStats, PieceStream
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.settings.config import Settings
from tests.support.lsp_support import SCRIPTED_SERVER, inline, open_doc, server_env, start, status, wait_ready
from tests.support.minified import minified_js

MINIFIED_BYTES = 1_900_000

FUNCTION = '''
def function_{i}(values, limit={i}):
    """Sum the values below the limit."""
    total = 0
    for value in values:
        if value < limit:
            total += value
    return total

'''


class CannedEngine(ScriptedEngine):
    """Answers a fixed text without reading the prompt: the model's cost is not ours to measure here."""

    def generate(self, request: GenerationRequest) -> PieceStream:
        pieces = (piece for piece in (request.constraint + self._canned).splitlines(keepends=True))
        return PieceStream(pieces, GenerationStats(prompt_tokens=len(request.prompt)))

    def __init__(self, text: str) -> None:
        super().__init__(text, n_ctx=4096)
        self._canned = text


def make_file(lines: int) -> str:
    out = ["import os\nimport sys\n\n"]
    count = 3
    i = 0
    while count < lines:
        out.append(FUNCTION.format(i=i))
        count += FUNCTION.count("\n")
        i += 1
    return "".join(out)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(lines: int, requests: int) -> dict[str, float]:
    text = make_file(lines)
    doc = Document("file:///bench.py", "python", 1, text, max_bytes=len(text) * 4)
    _ = doc.tree
    engine = CannedEngine("total += 1\n            count += 1")
    settings = Settings()
    line = lines // 2
    while not doc.line_text(line).strip().startswith("total = 0"):
        line += 1
    column = len(doc.line_text(line))
    per_request: list[float] = []
    per_edit: list[float] = []
    sticky_start = None
    for n in range(requests):
        started = time.perf_counter()
        position = types.Position(line, column + n)
        doc.apply_change(types.TextDocumentContentChangePartial(range=types.Range(position, position), text=" "), n + 2)
        _ = doc.tree  # the incremental re-parse, done once per keystroke whatever the requests
        edited = time.perf_counter()
        offset = doc.offset_at(line, column + n + 1)
        snapshot = snapshot_of(doc, offset, invoked=True, sticky_start=sticky_start)
        result = complete(engine, snapshot, settings, lambda: False)
        sticky_start = result.plan.window.start
        per_request.append((time.perf_counter() - edited) * 1000)
        per_edit.append((edited - started) * 1000)
    spec = language_for("python")
    assert spec is not None
    parser = new_parser(spec)
    assert parser is not None
    source = doc.text.encode()
    full: list[float] = []
    for _ in range(max(requests // 10, 5)):
        started = time.perf_counter()
        parser.parse(source)
        full.append((time.perf_counter() - started) * 1000)
    return {
        "lines": lines,
        "edit_p50_ms": statistics.median(per_edit),
        "p50_ms": statistics.median(per_request),
        "p95_ms": percentile(per_request, 0.95),
        "full_parse_p50_ms": statistics.median(full),
    }


def minified_files(bundle: Path | None = None) -> dict[str, str]:
    """The one-line file and the same code with line breaks. `bundle`: a real minified file whose
    longest line is repeated to the size, instead of the generated code."""
    if bundle is None:
        one_line = minified_js(MINIFIED_BYTES)
    else:
        line = max(bundle.read_text(encoding="utf-8").split("\n"), key=len)
        one_line = ";".join([line] * (MINIFIED_BYTES // len(line) + 1))[:MINIFIED_BYTES]
        one_line = one_line[: one_line.rfind(";function ") + 1]  # end between two statements
    return {"minified (1 line)": one_line, "same code, line breaks": one_line.replace(";function ", ";\nfunction ")}


def _cursor(text: str) -> int:
    return text.index("return ", len(text) // 2) + len("return ")


def bench_js(text: str, requests: int) -> dict[str, float]:
    doc = Document("file:///bench.js", "javascript", 1, text, max_bytes=len(text) * 4)
    _ = doc.tree
    engine = CannedEngine("a+b;\nif(c){d()}")
    settings = Settings()
    offset = _cursor(text)
    per_request: list[float] = []
    per_edit: list[float] = []
    sticky_start = None
    for n in range(requests):
        started = time.perf_counter()
        line, column = doc.position_at(offset)
        position = types.Position(line, column)
        doc.apply_change(types.TextDocumentContentChangePartial(range=types.Range(position, position), text="x"), n + 2)
        offset += 1
        _ = doc.tree
        edited = time.perf_counter()
        snapshot = snapshot_of(doc, offset, invoked=True, sticky_start=sticky_start)
        result = complete(engine, snapshot, settings, lambda: False)
        sticky_start = result.plan.window.start
        per_request.append((time.perf_counter() - edited) * 1000)
        per_edit.append((edited - started) * 1000)
    return {
        "edit_p50_ms": statistics.median(per_edit),
        "p50_ms": statistics.median(per_request),
        "p95_ms": percentile(per_request, 0.95),
    }


async def status_after_completion(text: str, rounds: int) -> list[float]:
    """Milliseconds a status request waits when sent right behind a completion request."""
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="a+b"))
    try:
        await wait_ready(client)
        uri = "file:///bench.js"
        open_doc(client, uri, text, "javascript")
        line = text.count("\n", 0, _cursor(text))
        character = _cursor(text) - (text.rfind("\n", 0, _cursor(text)) + 1)
        await inline(client, uri, line, character)  # the first parse is not what is measured
        waits = []
        for _ in range(rounds):
            completion = asyncio.ensure_future(inline(client, uri, line, character))
            await asyncio.sleep(0)  # the completion request goes out first
            started = time.perf_counter()
            await status(client)
            waits.append((time.perf_counter() - started) * 1000)
            await completion
        return waits
    finally:
        await client.shutdown_session()


def main_minified(requests: int, server: bool, bundle: Path | None) -> None:
    print(f"\n{bundle or 'generated (tests/support/minified.py)'}, cut to {MINIFIED_BYTES:,} bytes")
    print(
        f"{'1.9 MB of JavaScript':<24} {'edit+reparse p50':>17} {'request p50':>12} {'request p95':>12}"
        + (f" {'status wait p50':>16} {'status wait p95':>16}" if server else "")
    )
    for name, text in minified_files(bundle).items():
        r = bench_js(text, requests)
        row = f"{name:<24} {r['edit_p50_ms']:>15.2f}ms {r['p50_ms']:>10.2f}ms {r['p95_ms']:>10.2f}ms"
        if server:
            waits = asyncio.run(status_after_completion(text, max(requests // 10, 10)))
            row += f" {statistics.median(waits):>14.2f}ms {percentile(waits, 0.95):>14.2f}ms"
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-server", action="store_true", help="skip the end-to-end status figure")
    parser.add_argument("--bundle", type=Path, help="a real minified .js to repeat instead of the generated file")
    args = parser.parse_args()
    print(
        f"{'lines':>7} {'edit+reparse p50':>17} {'request p50':>12} {'request p95':>12} "
        f"{'full parse p50':>15} {'p95 / full parse':>17}"
    )
    for lines in (500, 5000, 20000):
        r = bench(lines, args.requests)
        ratio = r["p95_ms"] / r["full_parse_p50_ms"]
        print(
            f"{r['lines']:>7} {r['edit_p50_ms']:>15.2f}ms {r['p50_ms']:>10.2f}ms {r['p95_ms']:>10.2f}ms "
            f"{r['full_parse_p50_ms']:>13.2f}ms {ratio:>16.2f}x"
        )
    main_minified(args.requests, not args.no_server, args.bundle)


if __name__ == "__main__":
    main()
