"""Typing benchmark: realistic keystrokes through the real server over stdio, beside baselines.

Run (from the repository root, after the README's test install):

    .venv/bin/python benchmarks/typing_bench.py                 # small Code Llama-shaped model
    .venv/bin/python benchmarks/typing_bench.py --shape 1.3b    # the 1.3B Q4_0 shape (slow on CPU)
    .venv/bin/python benchmarks/typing_bench.py --model x.gguf  # any GGUF

For Python, TypeScript and Go files of 300-2,000 lines it deletes a line inside a function and
types it again, one character every 30-120 ms, as an editor would: didChange, then an automatic
inlineCompletion request that is not waited for. It reports time to suggestion (p50/p95), tokens
evaluated per keystroke, KV-cache reuse, cache hits, server overhead (time not spent in
llama.cpp or waiting for it) and cancellation latency. In the same run it measures the baseline:
a plain loop calling llama-cpp-python with a fresh prefix-first (PSM) prompt per keystroke, and
llama.cpp's `llama-server /infill` when a `llama-server` binary is on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402

from tests.support.lsp_support import REAL_SERVER, open_doc, plain, server_env, start, wait_ready  # noqa: E402
from tests.support.shaped_model import cached  # noqa: E402

PYTHON_FUNCTION = '''
def process_{i}(records, threshold={i}):
    """Keep the records above the threshold and sum their values."""
    selected = []
    total = 0
    for record in records:
        value = record.get("value", 0)
        if value > threshold:
            selected.append(record)
            total += value
    return selected, total

'''
TS_FUNCTION = """
export function process{i}(records: Array<{{ value: number; name: string }}>, threshold = {i}): number {{
  const selected: string[] = [];
  let total = 0;
  for (const record of records) {{
    if (record.value > threshold) {{
      selected.push(record.name);
      total += record.value;
    }}
  }}
  return total;
}}

"""
GO_FUNCTION = """
func process{i}(records []Record, threshold int) ([]Record, int) {{
\tselected := make([]Record, 0, len(records))
\ttotal := 0
\tfor _, record := range records {{
\t\tif record.Value > threshold+{i} {{
\t\t\tselected = append(selected, record)
\t\t\ttotal += record.Value
\t\t}}
\t}}
\treturn selected, total
}}

"""
FILES = {
    "python": ("import json\nimport os\n\n", PYTHON_FUNCTION, "total += value"),
    "typescript": ("import * as fs from 'fs';\n\n", TS_FUNCTION, "total += record.value;"),
    "go": (
        'package main\n\nimport "fmt"\n\ntype Record struct {\n\tName  string\n\tValue int\n}\n',
        GO_FUNCTION,
        "total += record.Value",
    ),
}


def make_source(language: str, lines: int) -> tuple[str, int]:
    """A file of about `lines` lines and the offset of the first line to retype (in the middle)."""
    header, template, target = FILES[language]
    parts = [header]
    count = header.count("\n")
    i = 0
    while count < lines:
        parts.append(template.format(i=i))
        count += template.count("\n")
        i += 1
    text = "".join(parts)
    middle = text.index(target, len(text) // 2)
    return text, middle


@dataclass
class Keystroke:
    sent: float
    answered: float | None = None
    text: str = ""


@dataclass
class Run:
    keystrokes: list[Keystroke] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    cancel_ms: list[float] = field(default_factory=list)
    warmups: int = 0


def clear_line_rest(client: Any, uri: str, version: int, text: str, target: int) -> tuple[str, types.Position]:
    """Delete from `target` to the end of its line, which the user is about to type again; returns
    that text and where typing starts."""
    line_end = text.index("\n", target)
    typed = text[target:line_end]
    line = text.count("\n", 0, target)
    start = types.Position(line, target - (text.rfind("\n", 0, target) + 1))
    end = types.Position(line, start.character + len(typed))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(types.Range(start, end), "")],
        )
    )
    return typed, start


def type_char(client: Any, uri: str, version: int, position: types.Position, char: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(types.Range(position, position), char)],
        )
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def type_file(
    client: Any, uri: str, language: str, text: str, target: int, rng: random.Random, lines: int = 4
) -> Run:
    """Retype `lines` lines, one after the other, starting at `target`."""
    open_doc(client, uri, text, language=language)
    _, _, pattern = FILES[language]
    run = Run()
    version = 1
    pending: list[asyncio.Future[Any]] = []
    current = text
    for _ in range(lines):
        line_end = current.index("\n", target)
        version += 1
        typed, start = clear_line_rest(client, uri, version, current, target)
        line, column = start.line, start.character
        # The user arrives at the line and pauses before typing: the prompt is evaluated then.
        await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                text_document=types.TextDocumentIdentifier(uri),
                position=start,
            )
        )
        run.warmups += 1
        for index, char in enumerate(typed):
            version += 1
            type_char(client, uri, version, types.Position(line, column + index), char)
            stroke = Keystroke(time.perf_counter())
            run.keystrokes.append(stroke)
            request = client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
                    text_document=types.TextDocumentIdentifier(uri),
                    position=types.Position(line, column + index + 1),
                )
            )

            async def wait(stroke: Keystroke = stroke, request: Any = request) -> None:
                try:
                    result = await request
                    stroke.text = result.items[0].insert_text if result and result.items else ""
                except Exception:
                    stroke.text = ""
                stroke.answered = time.perf_counter()

            pending.append(asyncio.ensure_future(wait()))
            pause = rng.uniform(0.03, 0.12)
            if not char.isalnum() and rng.random() < 0.5:
                pause += rng.uniform(0.25, 0.6)  # people pause between words, and look at the suggestion
            await asyncio.sleep(pause)
        await asyncio.sleep(0.8)  # the end of the line: a longer pause
        target = current.index(pattern, line_end + 1) if pattern in current[line_end + 1 :] else target
    await asyncio.wait_for(asyncio.gather(*pending), 600)
    return run


async def measure_cancel(client: Any, uri: str, samples: int = 5) -> list[float]:
    """Time from $/cancelRequest to the engine being free, while a suggestion is being generated:
    the queue wait of the request sent right after the cancellation."""
    params = types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(0, 0),
    )
    await client.text_document_inline_completion_async(params)  # the prompt is in the KV cache now
    out = []
    for n in range(samples):
        msg_id = f"cancel-{n}"
        first = asyncio.ensure_future(
            client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id)
        )
        await asyncio.sleep(0.03)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
        second = asyncio.ensure_future(client.text_document_inline_completion_async(params))
        for future in (first, second):
            try:
                await future
            except Exception:
                pass
        stats = plain(await client.protocol.send_request_async("codellama/stats", None))
        last = [r for r in stats["requests"] if "wait_ms" in r][-1]
        out.append(last["wait_ms"])
    return out


async def run_server(
    model: Path, sources: dict[str, tuple[str, int]], options: dict[str, Any], seed: int
) -> dict[str, Any]:
    env = server_env(CODELLAMA_LS_MODEL=str(model))
    client, _ = await start(REAL_SERVER, env, init_options=options)
    rng = random.Random(seed)
    results: dict[str, Any] = {}
    try:
        state = await wait_ready(client, timeout=600)
        if state["state"] != "ready":
            raise SystemExit(f"model did not load: {state.get('error')}")
        for language, (text, target) in sources.items():
            uri = f"file:///bench/example.{language}"
            run = await type_file(client, uri, language, text, target, rng)
            results[language] = run
        stats = plain(await client.protocol.send_request_async("codellama/stats", None))
        for language in sources:
            uri = f"file:///bench/example.{language}"
            run = results[language]
            # Leave out the requests made in the pause before each line (`warmups`), typing starts after them.
            mine = [r for r in stats["requests"] if r.get("uri") == uri and r.get("invoked") is not True]
            results[language] = (run, {"requests": mine})
        results["cache_hits"] = stats["cache_hits"]
        cancel_uri = "file:///bench/cancel.py"
        open_doc(client, cancel_uri, sources["python"][0] if "python" in sources else "x = 1\n", language="python")
        results["cancel_ms"] = await measure_cancel(client, cancel_uri)
    finally:
        await client.shutdown_session()
    return results


def baseline_llama(
    model: Path, sources: dict[str, tuple[str, int]], options: dict[str, Any], every: int
) -> list[dict[str, float]]:
    """Fresh prefix-first prompt per keystroke, no cache: the plain llama-cpp-python loop."""
    import llama_cpp

    from codellama_ls.completion.pipeline import plan
    from codellama_ls.completion.snapshot import snapshot_of
    from codellama_ls.documents.document import Document
    from codellama_ls.engine.base import vocab_of
    from codellama_ls.engine.llama import LlamaEngine
    from codellama_ls.settings.config import Settings

    engine = LlamaEngine(model, n_ctx=options["nCtx"], n_gpu_layers=0)
    vocab = vocab_of(engine)
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=options["nCtx"], verbose=False, n_gpu_layers=0)
    settings = Settings(fim_format="psm", max_tokens=options["maxTokens"], cross_file=False)
    out = []
    for language, (text, target) in sources.items():
        line_end = text.index("\n", target)
        typed = text[target:line_end]
        for index in range(0, len(typed), every):
            current = text[:target] + typed[: index + 1] + text[line_end:]
            doc = Document("file:///bench/base", language, 1, current)
            tokens = plan(vocab, options["nCtx"], snapshot_of(doc, target + index + 1), settings).tokens
            started = time.perf_counter()
            llm.reset()
            generated = 0
            for token in llm.generate(tokens, temp=0.0, top_k=1, repeat_penalty=1.0):
                generated += 1
                if token == 32010 or generated >= options["maxTokens"]:
                    break
            out.append({"ms": (time.perf_counter() - started) * 1000, "evaluated": len(tokens)})
    engine.close()
    llm.close()
    return out


def find_llama_server() -> str | None:
    """llama-server on PATH, else the one scripts/build-llama-server caches for this llama-cpp-python."""
    found = shutil.which("llama-server")
    if found is not None:
        return found
    try:
        import importlib.metadata

        version = importlib.metadata.version("llama_cpp_python")
    except Exception:
        return None
    cached = Path.home() / ".cache" / "codellama-ls" / "llama-server" / version / "llama-server"
    return str(cached) if cached.is_file() else None


def start_llama_server(
    binary: str, model: Path, n_ctx: int, port: int, threads: int | None = None, gpu: bool = False
) -> subprocess.Popen[bytes]:
    """llama-server as llama.vim's README runs it: the prompt cache reused in chunks (`--cache-reuse`);
    `threads` as ours, for a comparison at the same thread count (its default is the physical cores)."""
    server = subprocess.Popen(
        # llama.vim's default window (256 lines before, 64 after) needs more context than ours.
        [binary, "-m", str(model), "--port", str(port), "--host", "127.0.0.1", "-c", str(2 * n_ctx)]
        + ["--cache-reuse", "256"]
        + (["-t", str(threads), "-tb", str(threads)] if threads else [])
        + (["-ngl", "999"] if gpu else ["-ngl", "0"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            break
        except Exception:
            time.sleep(0.5)
    return server


def baseline_llama_server(
    model: Path, sources: dict[str, tuple[str, int]], options: dict[str, Any], every: int
) -> list[dict[str, float]] | str:
    binary = find_llama_server()
    if binary is None:
        return "not measured: no llama-server binary on PATH"
    port = 18181
    server = start_llama_server(binary, model, options["nCtx"], port)
    try:
        out = []
        for text, target in sources.values():
            line_end = text.index("\n", target)
            typed = text[target:line_end]
            for index in range(0, len(typed), every):
                # As llama.vim sends it: lines before the cursor line, the cursor line's head as
                # `prompt`, lines after; 256 and 64 lines at most (its defaults); its server-side cache on.
                before = text[:target].split("\n")
                head = before.pop() + typed[: index + 1]
                after = text[line_end:].split("\n")[1:65]
                body = json.dumps(
                    {
                        "input_prefix": "\n".join(before[-256:]) + "\n",
                        "prompt": head,
                        "input_suffix": "\n".join(after),
                        "input_extra": [],
                        "n_predict": options["maxTokens"],
                        "top_k": 40,
                        "top_p": 0.90,
                        "samplers": ["top_k", "top_p", "infill"],
                        "cache_prompt": True,
                    }
                ).encode()
                started = time.perf_counter()
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/infill", body, {"Content-Type": "application/json"}
                )
                reply = json.loads(urllib.request.urlopen(request, timeout=600).read())
                out.append(
                    {
                        "ms": (time.perf_counter() - started) * 1000,
                        "evaluated": reply.get("timings", {}).get("prompt_n", float("nan")),
                    }
                )
        return out
    finally:
        server.terminate()


def cache_hits_of(stats: dict[str, Any]) -> dict[str, int]:
    hits: dict[str, int] = {}
    for entry in stats["requests"]:
        if "cache" in entry:
            hits[entry["cache"]] = hits.get(entry["cache"], 0) + 1
    return hits


def report(
    results: dict[str, Any], base: list[dict[str, float]], server_base: list[dict[str, float]] | str
) -> dict[str, Any]:
    latencies, keystrokes, answered_text = [], 0, 0
    prompt = reused = evaluated = 0
    overhead: list[float] = []
    hits: dict[str, int] = {}
    generations = 0
    for language in FILES:
        if language not in results:
            continue
        run, stats = results[language]
        keystrokes += len(run.keystrokes)
        for stroke in run.keystrokes:
            if stroke.answered is not None and stroke.text:
                latencies.append((stroke.answered - stroke.sent) * 1000)
                answered_text += 1
        for entry in stats["requests"]:
            if "cache" in entry:
                continue
            generations += 1
            prompt += entry["prompt_tokens"]
            reused += entry["reused_tokens"]
            evaluated += entry["evaluated_tokens"]
            if "overhead_ms" in entry:
                overhead.append(entry["overhead_ms"])
        for kind, count in cache_hits_of(stats).items():
            hits[kind] = hits.get(kind, 0) + count
    summary = {
        "keystrokes": keystrokes,
        "suggestions shown": answered_text,
        "time to suggestion p50 ms": round(percentile(latencies, 0.5), 1),
        "time to suggestion p95 ms": round(percentile(latencies, 0.95), 1),
        "tokens evaluated per keystroke": round(evaluated / max(keystrokes, 1), 1),
        "KV reuse": round(reused / prompt, 4) if prompt else None,
        "model runs": generations,
        "cache hits": hits,
        "cache hit rate": round(sum(hits.values()) / max(keystrokes, 1), 3),
        "server overhead p95 ms": round(percentile(overhead, 0.95), 2),
        "cancel latency p95 ms": round(percentile(results.get("cancel_ms", []), 0.95), 2),
        "baseline (fresh PSM prompt, llama-cpp-python) p50 ms": round(percentile([b["ms"] for b in base], 0.5), 1),
        "baseline p95 ms": round(percentile([b["ms"] for b in base], 0.95), 1),
        "baseline tokens evaluated per keystroke": round(statistics.mean(b["evaluated"] for b in base), 1)
        if base
        else None,
    }
    if isinstance(server_base, str):
        summary["llama-server /infill"] = server_base
    else:
        summary["llama-server /infill p50 ms"] = round(percentile([b["ms"] for b in server_base], 0.5), 1)
        summary["llama-server /infill tokens evaluated per keystroke"] = round(
            statistics.mean(b["evaluated"] for b in server_base), 1
        )
    if base and latencies:
        summary["speedup p50 (baseline / codellama-ls)"] = round(
            summary["baseline (fresh PSM prompt, llama-cpp-python) p50 ms"] / summary["time to suggestion p50 ms"], 1
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a GGUF; default: a generated Code Llama-shaped model")
    parser.add_argument("--shape", default="small", choices=("small", "medium", "1.3b"))
    parser.add_argument("--lines", type=int, nargs=3, default=(300, 1000, 2000), metavar=("PY", "TS", "GO"))
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--baseline-every", type=int, default=4, help="baseline on every Nth keystroke")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    model = args.model or cached(args.shape, Path(tempfile.gettempdir()) / "codellama-ls-bench")
    sources = {lang: make_source(lang, n) for lang, n in zip(FILES, args.lines, strict=True)}
    options = {"maxTokens": args.max_tokens, "nCtx": args.n_ctx, "maxLines": 1, "crossFile": True}
    results = asyncio.run(run_server(model, sources, options, args.seed))
    base = baseline_llama(model, sources, options, args.baseline_every)
    server_base = baseline_llama_server(model, sources, options, args.baseline_every)
    summary = report(results, base, server_base)
    summary["model"] = str(model)
    for key, value in summary.items():
        print(f"{key:55} {value}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
