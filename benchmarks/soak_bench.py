"""Soak benchmark: does a day of typing grow the server?

Run (from the repository root, after the README's test install):

    .venv/bin/python benchmarks/soak_bench.py                       # 100,000 changes, 10,000 requests
    .venv/bin/python benchmarks/soak_bench.py --compare ../old-tree  # and the same soak on another checkout
    .venv/bin/python benchmarks/soak_bench.py --model x.gguf         # any GGUF

It starts the real server over stdio (`python -m codellama_ls`) with a tiny generated Code Llama
GGUF, opens a 300-line Python file and sends didChange notifications that type a character and
delete it again (the document keeps its size), with an invoked inlineCompletion (every 10th a
textDocument/completion) after every 10th change, each answered before the next; then the same
changes without requests, which separates what the protocol and the documents keep from what a
completion (llama.cpp) leaves. RSS is read from /proc after a warm-up (a tenth of the run, enough
to fill the server's bounded histories) and at every tenth of the run; the growth is printed
beside the model file's size. `--compare` runs the same soak against another checkout in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.lsp_support import server_env  # noqa: E402
from tests.support.raw_lsp import RawServer, frame, notification, request  # noqa: E402

URI = "file:///tmp/soak/module.py"
FUNCTION = """
def step_{i}(values, limit={i}):
    total = 0
    for value in values:
        if value > limit:
            total += value
    return total
"""
LINE = 3  # inside step_0, at the end of "    total = 0"


def source() -> str:
    return "".join(FUNCTION.format(i=i) for i in range(43))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc (this benchmark reads Linux's /proc)")


class Soak:
    def __init__(self, server: RawServer, column: int) -> None:
        self.server = server
        self.column = column
        self.version = 1
        self.requests = 0

    def change(self) -> bytes:
        """Type a character, or delete the one typed: the document keeps its size."""
        self.version += 1
        at = {"line": LINE, "character": self.column}
        if self.version % 2 == 0:
            edit: dict[str, Any] = {"range": {"start": at, "end": at}, "text": "x"}
        else:
            end = {"line": LINE, "character": self.column + 1}
            edit = {"range": {"start": at, "end": end}, "text": ""}
        params = {"textDocument": {"uri": URI, "version": self.version}, "contentChanges": [edit]}
        return frame(notification("textDocument/didChange", params))

    def ask(self) -> bytes:
        self.requests += 1
        position = {"line": LINE, "character": self.column + (1 if self.version % 2 == 0 else 0)}
        params: dict[str, Any] = {"textDocument": {"uri": URI}, "position": position}
        if self.requests % 10:
            params["context"] = {"triggerKind": 1}
            return frame(request(self.requests, "textDocument/inlineCompletion", params))
        return frame(request(self.requests, "textDocument/completion", params))

    async def run(self, changes: int, requests: int) -> None:
        every = max(1, changes // max(1, requests))
        batch: list[bytes] = []
        asked = 0
        for number in range(1, changes + 1):
            batch.append(self.change())
            if number % every == 0 and asked < requests:
                batch.append(self.ask())
                asked += 1
                await self.server.send(b"".join(batch))
                batch.clear()
                reply = await self.server.response(timeout=60)
                assert "result" in reply, reply
            elif len(batch) >= 100:
                await self.server.send(b"".join(batch))
                batch.clear()
        if batch:
            await self.server.send(b"".join(batch))
        await self.server.call("sync", "codellama/status")


def engine_pid(status: dict[str, Any]) -> int | None:
    """The shared engine process's pid, from `codellama/status`'s `computed` (None when in-process)."""
    found = re.search(r"shared engine process (\d+)", str(status.get("computed") or ""))
    return int(found.group(1)) if found else None


async def soak(
    pythonpath: Path, model: Path, changes: int, requests: int, label: str, engine: str | None
) -> dict[str, Any]:
    env = server_env()
    env["PYTHONPATH"] = str(pythonpath)
    if engine is not None:
        env["CODELLAMA_LS_ENGINE"] = engine
    command = [sys.executable, "-m", "codellama_ls", "--model", str(model), "--n-ctx", "1024", "--max-tokens", "8"]
    server = await RawServer.start(command, env, cwd=pythonpath)  # `-m` looks in the cwd first
    try:
        await server.initialize()
        await server.wait_ready()
        text = source()
        item = {"uri": URI, "languageId": "python", "version": 1, "text": text}
        await server.send(frame(notification("textDocument/didOpen", {"textDocument": item})))
        runner = Soak(server, column=len(text.split("\n")[LINE]))
        started = time.perf_counter()
        await runner.run(changes // 10, requests // 10)  # warm-up
        # With `engine = shared` the model lives in the engine process: its memory counts too.
        status = (await server.call("pids", "codellama/status"))["result"]
        pids = [server.process.pid] + [pid for pid in [engine_pid(status)] if pid is not None]

        def rss() -> int:
            return sum(rss_kib(pid) for pid in pids)

        before = rss()
        samples = [before]
        for _ in range(10):
            await runner.run(changes // 10, requests // 10)
            samples.append(rss())
        elapsed = time.perf_counter() - started
        where = "server + shared engine process" if len(pids) > 1 else "server (model in process)"
        label = f"{label}, {where}, {changes:,} changes + {requests:,} requests"
        print(f"{label}: RSS every tenth of the run (MiB): {' '.join(f'{s / 1024:.1f}' for s in samples)}")
        return {"label": label, "before": before, "after": samples[-1], "seconds": elapsed}
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--model", type=Path, help="a GGUF (default: a tiny generated Code Llama look-alike)")
    parser.add_argument("--compare", type=Path, help="another checkout's root, soaked the same way in the same run")
    parser.add_argument(
        "--engine",
        action="append",
        choices=("shared", "local"),
        help="engine setting(s) to soak (repeatable); default: the tree's default engine only",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = args.model
        if model is None:
            from tests.support.gguf_models import write_codellama_gguf

            model = write_codellama_gguf(Path(folder) / "tiny.gguf")
        size_mib = model.stat().st_size / 2**20
        runs = [(ROOT, "this tree")] + ([(args.compare.resolve(), str(args.compare))] if args.compare else [])
        engines: list[str | None] = list(args.engine) if args.engine else [None]
        results = [
            asyncio.run(soak(root, model, args.changes, requests, label, engine))
            for root, label in runs
            for engine in engines
            for requests in (args.requests, 0)
        ]
    print(f"\nafter a warm-up of a tenth of each run; model file {size_mib:.1f} MiB\n")
    print("| server | RSS after warm-up | RSS at the end | growth | growth / model size | time |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        growth = (r["after"] - r["before"]) / 1024
        print(
            f"| {r['label']} | {r['before'] / 1024:.1f} MiB | {r['after'] / 1024:.1f} MiB | {growth:+.1f} MiB "
            f"| {growth / size_mib:+.2f} | {r['seconds']:.0f} s |"
        )


if __name__ == "__main__":
    main()
