"""Remote engine benchmark: `engine = llama-server` beside `local`, and four users sharing one llama-server.

Run (from the repository root, after the README's test install and scripts/build-llama-server):

    .venv/bin/python benchmarks/remote_bench.py            # a few minutes on 2 CPU cores

1. Typing through the real language server over stdio, with `engine = local`, with `engine = llama-server`
   (a llama-server on 127.0.0.1, same model and thread count), and once more without the GGUF on the
   client (the server's tokenizer: no token healing, PSM inside a word). Two lines of a 120-line Python
   file are typed again; after each keystroke an explicit request is answered before the next (a user who
   waits for the suggestion), so every request runs to its end: time to suggestion p50/p95, tokens
   evaluated per keystroke, KV reuse. Ratios remote/local in the same run.
2. Four simulated users typing at once (each waits for its suggestion, then types on), each in a document
   of their own, against one llama-server with 4 slots: per-keystroke tokens evaluated and time to
   suggestion p50/p95, for three slot policies: `hash` (a stable hash of user and document over the
   slots), `server` (`id_slot` -1: llama-server's choice, an idle slot whose cache shares most of the
   prompt) and `pinned` (everyone on slot 0, what llama.vim does).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402

from benchmarks.typing_bench import clear_line_rest, make_source, percentile, type_char  # noqa: E402
from codellama_ls.completion.pipeline import complete  # noqa: E402
from codellama_ls.completion.snapshot import snapshot_of  # noqa: E402
from codellama_ls.documents.document import Document  # noqa: E402
from codellama_ls.documents.positions import PositionEncoding  # noqa: E402
from codellama_ls.engine.remote import RemoteEngine, SlotPolicy, server_chooses  # noqa: E402
from codellama_ls.models.presets import load_llama_engine  # noqa: E402
from codellama_ls.settings.config import Settings  # noqa: E402
from tests.support.llama_server import LlamaServer, missing_reason  # noqa: E402
from tests.support.lsp_support import REAL_SERVER, open_doc, plain, server_env, start, wait_ready  # noqa: E402
from tests.support.shaped_model import cached  # noqa: E402


async def _request(client: Any, uri: str, position: Any) -> None:
    await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri),
            position=position,
        )
    )


async def typing(env: dict[str, str], options: dict[str, Any], source: tuple[str, int], lines: int) -> dict[str, float]:
    """Retype `lines` lines; after each keystroke ask for a suggestion and wait for it (a user who
    pauses until it shows), so every request runs to its end: time to suggestion and KV reuse per
    keystroke, without the superseded requests a loaded machine makes of nearly all automatic ones."""
    client, _ = await start(REAL_SERVER, env, init_options=options)
    try:
        state = await wait_ready(client, timeout=600)
        if state["state"] != "ready":
            raise SystemExit(f"engine not ready: {state.get('error')}")
        uri = "file:///bench/remote.python"
        text, target = source
        open_doc(client, uri, text, language="python")
        version, warmups, times = 1, [], []
        for _ in range(lines):
            line_end = text.index("\n", target)
            version += 1
            typed, start_at = clear_line_rest(client, uri, version, text, target)
            line, column = start_at.line, start_at.character
            stats = plain(await client.protocol.send_request_async("codellama/stats", None))
            warmups.append(len(stats["requests"]))
            await _request(client, uri, start_at)  # arriving at the line: the whole prompt, left out
            for index, char in enumerate(typed):
                version += 1
                type_char(client, uri, version, types.Position(line, column + index), char)
                began = time.perf_counter()
                await _request(client, uri, types.Position(line, column + index + 1))
                times.append((time.perf_counter() - began) * 1000)
            target = text.index("total += value", line_end + 1)
        stats = plain(await client.protocol.send_request_async("codellama/stats", None))
        typed_requests = [r for i, r in enumerate(stats["requests"]) if i not in warmups and "prompt_tokens" in r]
        prompt = sum(r["prompt_tokens"] for r in typed_requests)
        return {
            "keystrokes": len(times),
            "p50_ms": percentile(times, 0.5),
            "p95_ms": percentile(times, 0.95),
            "kv_reuse": sum(r["reused_tokens"] for r in typed_requests) / prompt if prompt else float("nan"),
            "evaluated_per_keystroke": sum(r["evaluated_tokens"] for r in typed_requests) / max(len(times), 1),
            "psm_requests": sum(r.get("mode") == "psm" for r in typed_requests),
        }
    finally:
        await client.shutdown_session()


def _load(settings: Settings, progress: Any) -> RemoteEngine:
    engine = load_llama_engine(settings, progress)
    assert isinstance(engine, RemoteEngine)
    return engine


def _hashed(user: str) -> SlotPolicy:
    """A stable hash of user and document over the server's slots."""

    def slot(key: str, slots: int) -> int:
        digest = hashlib.sha256(f"{user}\0{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % max(slots, 1)

    return slot


def _pinned(user: str) -> SlotPolicy:
    """What llama.vim and llama.vscode do: every request on slot 0."""
    return lambda key, slots: 0


# `server` is codellama-ls' own choice (`server_chooses`): id_slot -1, llama-server picks an idle slot,
# preferring the one whose cache shares most of the prompt.
POLICIES: dict[str, Callable[[str], SlotPolicy]] = {
    "hash": _hashed,
    "server": lambda user: server_chooses,
    "pinned": _pinned,
}


def _user(
    engine: RemoteEngine, text: str, target: int, settings: Settings, seed: int, out: list[tuple[float, int]]
) -> None:
    """Type one line character by character, asking for a suggestion after each and waiting for it."""
    rng = random.Random(seed)
    line_end = text.index("\n", target)
    typed = text[target:line_end]
    base = text[:target] + text[line_end:]
    uri = f"file:///bench/user{seed}.py"
    for count in range(min(len(typed), 12) + 1):
        current = base[:target] + typed[:count] + base[target:]
        doc = Document(uri, "python", count + 1, current, encoding=PositionEncoding.UTF32)
        snapshot = snapshot_of(doc, target + count)
        started = time.perf_counter()
        result = complete(engine, snapshot, settings, lambda: False)
        if count:  # the first request, before typing, evaluates the whole prompt
            out.append(((time.perf_counter() - started) * 1000, result.stats.evaluated_tokens))
        time.sleep(rng.uniform(0.03, 0.12))


def four_users(settings: Settings, policy: str, lines: int, users: int = 4) -> dict[str, Any]:
    engines: list[RemoteEngine] = []
    for user in range(users):
        engine = _load(settings, lambda *_: None)
        engine.slot_policy = POLICIES[policy](f"dev{user}@laptop{user}")  # four people, four machines
        engines.append(engine)
    results: list[list[tuple[float, int]]] = [[] for _ in engines]
    threads = []
    slots = []
    for user, engine in enumerate(engines):
        # Each user edits a different file, so no prompt is a prefix of another's.
        text, target = make_source("python", lines + 7 * user)
        text = text.replace("process_", f"user{user}_step_")
        slots.append(engine.slot_policy(f"file:///bench/user{user}.py", engine.slots))
        threads.append(
            threading.Thread(target=_user, args=(engine, text, target, settings, user, results[user]), daemon=True)
        )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(900)
    samples = [sample for per_user in results for sample in per_user]
    times = [t for t, _ in samples]
    evaluated = [e for _, e in samples]
    for engine in engines:
        engine.close()
    return {
        "id_slot per user": slots,
        "keystrokes": len(samples),
        "evaluated_per_keystroke": sum(evaluated) / max(len(samples), 1),
        "evaluated_p95": percentile([float(e) for e in evaluated], 0.95),
        "p50_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a GGUF; default: the generated Code Llama-shaped model")
    parser.add_argument("--shape", default="small", choices=("small", "medium", "1.3b"))
    parser.add_argument("--lines", type=int, default=120, help="lines of the typing part's file")
    parser.add_argument("--typed-lines", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--part", choices=("typing", "users", "both"), default="both")
    parser.add_argument("--users", type=int, default=4, help="users typing at once, and the server's slots")
    parser.add_argument("--users-lines", type=int, default=60, help="lines of each user's file")
    parser.add_argument("--users-n-ctx", type=int, default=1024)
    parser.add_argument("--policies", nargs="+", default=["hash", "server", "pinned"], choices=sorted(POLICIES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if missing_reason():
        raise SystemExit(missing_reason())
    model = args.model or cached(args.shape, Path(tempfile.gettempdir()) / "codellama-ls-bench")
    summary: dict[str, Any] = {"model": str(model)}
    if args.part in ("typing", "both"):
        source = make_source("python", args.lines)
        options = {"maxTokens": args.max_tokens, "nCtx": args.n_ctx, "maxLines": 1, "crossFile": False}
        local_env = server_env(CODELLAMA_LS_MODEL=str(model), CODELLAMA_LS_N_THREADS=str(args.threads))
        summary["typing_local"] = asyncio.run(typing(local_env, options, source, args.typed_lines))
        print(f"typing, local: {summary['typing_local']}", file=sys.stderr, flush=True)
        with LlamaServer(model, slots=1, n_ctx=args.n_ctx, threads=args.threads) as server:
            remote_env = server_env(
                CODELLAMA_LS_MODEL=str(model), CODELLAMA_LS_ENGINE="llama-server", CODELLAMA_LS_ENGINE_URL=server.url
            )
            summary["typing_llama_server"] = asyncio.run(typing(remote_env, options, source, args.typed_lines))
            print(f"typing, llama-server: {summary['typing_llama_server']}", file=sys.stderr, flush=True)
            # Without the GGUF here: the server's tokenizer, no token healing, PSM inside a word.
            served_env = dict(remote_env, CODELLAMA_LS_MODEL=str(model.with_name("not-here.gguf")))
            summary["typing_llama_server_vocab"] = asyncio.run(typing(served_env, options, source, args.typed_lines))
            print(f"typing, server vocab: {summary['typing_llama_server_vocab']}", file=sys.stderr, flush=True)
        local, remote = summary["typing_local"], summary["typing_llama_server"]
        summary["typing_ratio_p50"] = remote["p50_ms"] / local["p50_ms"]
        summary["typing_ratio_p95"] = remote["p95_ms"] / local["p95_ms"]
    if args.part in ("users", "both"):
        for policy in args.policies:
            with LlamaServer(model, slots=args.users, n_ctx=args.users_n_ctx, threads=args.threads) as server:
                settings = dataclasses.replace(
                    Settings(),
                    engine="llama-server",
                    engine_url=server.url,
                    model=str(model),
                    n_ctx=args.users_n_ctx,
                    max_tokens=8,
                    max_lines=1,
                    cross_file=False,
                    syntax_check=False,
                    engine_timeout_ms=120_000,
                )
                summary[f"four_users_{policy}"] = four_users(settings, policy, args.users_lines, args.users)
                print(f"four users, {policy}: {summary[f'four_users_{policy}']}", file=sys.stderr, flush=True)
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
