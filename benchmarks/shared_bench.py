"""Shared engine benchmark: `engine = shared` beside `local`, and three editors on one model.

Run (from the repository root, after the README's test install):

    .venv/bin/python benchmarks/shared_bench.py           # a few minutes on 2 CPU cores

1. Typing through the real language server over stdio, the same keystrokes (typing_bench's script, two
   lines of a 300-line Python file, the same seed) with `engine = local` and with `engine = shared`,
   alternately, `--rounds` times each: time to suggestion p50/p95 (keystrokes answered with text), time
   of the completed (not superseded) requests p50/p95 as the server logged them, tokens evaluated per
   keystroke, KV reuse. Ratios shared/local in the same run.
2. Three editors typing in turn (three servers, each its own document, two turns each) on one model, with
   `engine = shared` and with `engine = local`: RSS of all their processes (servers and engine) at the end,
   and the KV reuse of each editor's first request after the others had their turn (the engine keeps
   each document's KV state).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402

from benchmarks.typing_bench import make_source, percentile, type_file  # noqa: E402
from tests.support.lsp_support import REAL_SERVER, open_doc, plain, server_env, start, wait_ready  # noqa: E402
from tests.support.shaped_model import cached  # noqa: E402


def _env(model: Path, engine: str, runtime: Path) -> dict[str, str]:
    return server_env(CODELLAMA_LS_MODEL=str(model), CODELLAMA_LS_ENGINE=engine, XDG_RUNTIME_DIR=str(runtime))


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _engine_pids(runtime: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"codellama_ls.engine.service" in command and str(runtime).encode() in command:
            found.append(int(entry.name))
    return found


async def typing(model: Path, engine: str, runtime: Path, options: dict[str, Any], seed: int) -> dict[str, Any]:
    client, _ = await start(REAL_SERVER, _env(model, engine, runtime), init_options=options)
    try:
        state = await wait_ready(client, timeout=600)
        if state["state"] != "ready":
            raise SystemExit(f"engine not ready: {state.get('error')}")
        uri = "file:///bench/shared.py"
        text, target = make_source("python", 300)
        run = await type_file(client, uri, "python", text, target, random.Random(seed), lines=2)
        stats = plain(await client.protocol.send_request_async("codellama/stats", None))
        mine = [r for r in stats["requests"] if r.get("uri") == uri and r.get("invoked") is not True]
        answered = [(k.answered - k.sent) * 1000 for k in run.keystrokes if k.answered is not None and k.text]
        done = [r for r in mine if r.get("stop_reason") != "cancelled" and "prompt_tokens" in r]
        prompt = sum(r["prompt_tokens"] for r in done)
        return {
            "keystrokes": len(run.keystrokes),
            "answered": answered,
            "completed_ms": [r["total_ms"] for r in done],
            "prompt": prompt,
            "reused": sum(r["reused_tokens"] for r in done),
            "evaluated": sum(r.get("evaluated_tokens", 0) for r in mine),
        }
    finally:
        await client.shutdown_session()


def _summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    answered = [v for run in runs for v in run["answered"]]
    completed = [v for run in runs for v in run["completed_ms"]]
    keystrokes = sum(run["keystrokes"] for run in runs)
    prompt = sum(run["prompt"] for run in runs)
    return {
        "keystrokes": keystrokes,
        "with_suggestion": len(answered),
        "suggestion_p50_ms": percentile(answered, 0.5),
        "suggestion_p95_ms": percentile(answered, 0.95),
        "completed_p50_ms": percentile(completed, 0.5),
        "completed_p95_ms": percentile(completed, 0.95),
        "kv_reuse": sum(run["reused"] for run in runs) / prompt if prompt else float("nan"),
        "evaluated_per_keystroke": sum(run["evaluated"] for run in runs) / max(keystrokes, 1),
    }


async def _type_line(client: Any, uri: str, text: str, target: int, version: int, chars: int) -> int:
    """Delete the line at `target` and type its first `chars` characters, waiting for each suggestion."""
    line = text.count("\n", 0, target)
    column = target - (text.rfind("\n", 0, target) + 1)
    typed = text[target : text.index("\n", target)]
    start_, end = types.Position(line, column), types.Position(line, column + len(typed))
    version += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(types.Range(start_, end), "")],
        )
    )
    for index, char in enumerate(typed[:chars]):
        position = types.Position(line, column + index)
        version += 1
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(types.Range(position, position), char)],
            )
        )
        await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                text_document=types.TextDocumentIdentifier(uri),
                position=types.Position(line, column + index + 1),
            )
        )
    return version


async def _generations(client: Any, uri: str) -> list[dict[str, Any]]:
    stats = plain(await client.protocol.send_request_async("codellama/stats", None))
    return [r for r in stats["requests"] if "prompt_tokens" in r and r.get("uri") == uri]


async def editors_in_turn(
    model: Path, engine: str, runtime: Path, options: dict[str, Any], chars: int
) -> dict[str, Any]:
    env = _env(model, engine, runtime)
    started = [await start(REAL_SERVER, env, init_options=options) for _ in range(3)]
    clients = [client for client, _ in started]
    try:
        for client in clients:
            state = await wait_ready(client, timeout=600)
            if state["state"] != "ready":
                raise SystemExit(f"engine not ready: {state.get('error')}")
        docs = []
        for n, client in enumerate(clients):
            text, target = make_source("python", 300 + 11 * n)
            text = text.replace("process_", f"editor{n}_step_")
            uri = f"file:///bench/editor{n}.py"
            open_doc(client, uri, text)
            docs.append([uri, text, target, 1])
        first_after_switch = []
        for turn in range(2):
            for client, doc in zip(clients, docs, strict=True):
                uri, text, target, version = doc
                before = len(await _generations(client, uri))
                doc[3] = await _type_line(client, uri, text, target, version, chars)
                if turn == 1:  # the others typed since this editor's last request
                    first = (await _generations(client, uri))[before]
                    first_after_switch.append(round(first["reused_tokens"] / max(first["prompt_tokens"], 1), 3))
        pids = [client._server.pid for client in clients] + _engine_pids(runtime)
        return {
            "processes": len(pids),
            "rss_mb": sum(_rss_kb(pid) for pid in pids) / 1024,
            "server_rss_mb": [round(_rss_kb(pid) / 1024, 1) for pid in pids[:3]],
            "reuse_after_switch": first_after_switch,
        }
    finally:
        for client in clients:
            await client.shutdown_session()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.gettempdir()) / "codellama-ls-bench"
    small = args.model or cached("small", folder)
    big = args.memory_model or cached("medium", folder)
    runtime = Path(tempfile.mkdtemp(prefix="cls-bench-", dir="/tmp"))
    options = {"nCtx": args.n_ctx, "maxTokens": args.max_tokens, "engineIdleS": 5}
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "shared": []}
    for round_ in range(0 if args.skip_typing else args.rounds):
        for engine in ("local", "shared"):
            runs[engine].append(await typing(small, engine, runtime, options, args.seed + round_))
    typing_figures = {engine: _summary(value) for engine, value in runs.items()}
    typing_result = {
        "typing_model": str(small),
        "typing": typing_figures,
        "ratios": {
            key: typing_figures["shared"][key] / typing_figures["local"][key]
            for key in ("suggestion_p50_ms", "suggestion_p95_ms", "completed_p50_ms", "completed_p95_ms")
            if typing_figures["local"][key]
        },
    }
    print(json.dumps(typing_result, indent=2), flush=True)  # a long run keeps this much
    memory_options = {**options, "maxTokens": args.memory_max_tokens}
    memory = {
        engine: await editors_in_turn(big, engine, runtime, memory_options, args.chars)
        for engine in ("shared", "local")
    }
    return {**typing_result, "memory_model": str(big), "memory_model_mb": big.stat().st_size / 1e6, "editors": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="the typing model; default: the generated `small` shape")
    parser.add_argument("--memory-model", type=Path, help="default: the generated `medium` shape")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chars", type=int, default=3, help="characters each editor types per turn")
    parser.add_argument("--memory-max-tokens", type=int, default=4)
    parser.add_argument("--skip-typing", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args)), indent=2))


if __name__ == "__main__":
    main()
