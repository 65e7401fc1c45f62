"""Editing-session benchmark: a replayed session through the real server over stdio, beside baselines.

Run (from the repository root, after the README's test install):

    .venv/bin/python benchmarks/session_bench.py                  # 1.3B Code Llama-shaped model, n_ctx 4096
    .venv/bin/python benchmarks/session_bench.py --shape small    # a quick run (512 wide, 6 layers)
    .venv/bin/python benchmarks/session_bench.py --model x.gguf   # any GGUF
    .venv/bin/python benchmarks/session_bench.py --repository     # the files in a workspace, indexed

Two real files of the running Python's standard library are edited (`--files`: the `develop` pair,
`textwrap.py` and `json/encoder.py`, is the one the window was tuned on; the `report` pair, `pprint.py`
and `email/feedparser.py`, was never looked at while tuning and is the one to record) the way a
session goes: open a file and add a line in a function, accept a suggestion, move to another function
nearby and far away, delete a block and type it again, switch to the other file and
back. Keystrokes come 30-120 ms apart, each a didChange and an automatic inlineCompletion request that
is not waited for; after a move, a file switch or an accept, the request is waited for (a move or a
switch comes 0.5-1 s after the last answer: the user reads before going elsewhere). Reported per
request kind: time to suggestion (p50/p95) and tokens evaluated per request (from `codellama/stats`).
In the same run, at the same document states: llama.cpp's `llama-server /infill` driven as llama.vim
drives it, and a fresh prefix-first prompt per request through llama-cpp-python.

With `--repository` the two files are edited inside a workspace folder (a temporary copy of the
packages they belong to, or of the module itself when it is one) that the server indexes before the
session starts, so repository context has definitions to give. Without it the server's workspace
folder is this checkout, which the documents (`file:///bench/...`) are not part of; its index still
offers definitions of the names they use (about half the cursor positions of `textwrap.py` and
`json/encoder.py` get a chunk from this checkout's tests and sources).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsprotocol import types

from benchmarks.typing_bench import find_llama_server, percentile, start_llama_server
from tests.support.lsp_support import REAL_SERVER, ROOT, open_doc, plain, server_env, start, status, wait_ready
from tests.support.shaped_model import cached

# Tuned on `develop`; figures are recorded on `report`, which nothing was tuned on.
FILE_SETS = {
    "develop": {"file:///bench/textwrap.py": "textwrap.py", "file:///bench/encoder.py": "json/encoder.py"},
    "report": {"file:///bench/pprint.py": "pprint.py", "file:///bench/feedparser.py": "email/feedparser.py"},
}
STDLIB = Path(sysconfig.get_paths()["stdlib"])
KINDS = ("open", "typing", "move", "far move", "switch", "accept")
# Every Nth keystroke's document is replayed to the baselines (each of them evaluates a whole prompt).
BASELINE_EVERY = 20


@dataclass
class Request:
    kind: str
    uri: str
    text: str
    offset: int
    ms: float | None = None
    shown: bool = False
    evaluated: int = 0
    prompt: int = 0
    prompt_ms: float = 0.0
    """Time to evaluate the prompt, where the answer says (ours: `codellama/stats`; llama-server: timings)."""
    parts: dict[str, Any] = field(default_factory=dict)
    """Where a waited-for request's time went, from `codellama/stats` (its model run, or the cache)."""


@dataclass
class Editor:
    client: Any
    rng: random.Random
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    replay: list[Request] = field(default_factory=list)
    keystrokes: int = 0
    threads: int = 0
    """The threads the server's engine computes with (`codellama/status`); the baselines get as many."""
    files: dict[str, str] = field(default_factory=lambda: dict(FILE_SETS["report"]))
    root: Path = STDLIB
    """Where the files are read from: the standard library, or its copy in the workspace (`--repository`)."""
    index: dict[str, Any] = field(default_factory=dict)
    """What the workspace index held when the session began (`--repository`)."""

    def position(self, uri: str, offset: int) -> types.Position:
        text = self.texts[uri]
        line = text.count("\n", 0, offset)
        return types.Position(line, offset - (text.rfind("\n", 0, offset) + 1))  # ASCII sources

    def open(self, uri: str) -> None:
        self.texts[uri] = (self.root / self.files[uri]).read_text()
        self.versions[uri] = 1
        open_doc(self.client, uri, self.texts[uri])

    def edit(self, uri: str, start: int, end: int, new: str) -> None:
        range_ = types.Range(self.position(uri, start), self.position(uri, end))
        self.texts[uri] = self.texts[uri][:start] + new + self.texts[uri][end:]
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangePartial(range_, new)],
            )
        )

    async def _ask(self, uri: str, offset: int, invoked: bool) -> types.InlineCompletionList | None:
        kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=kind),
                text_document=types.TextDocumentIdentifier(uri),
                position=self.position(uri, offset),
            )
        )
        return result if isinstance(result, types.InlineCompletionList) else None

    async def stats(self) -> list[dict[str, Any]]:
        return list(plain(await self.client.protocol.send_request_async("codellama/stats", None))["requests"])

    async def request(
        self, kind: str, uri: str, offset: int, invoked: bool = True
    ) -> types.InlineCompletionItem | None:
        """A request waited for, with the tokens it made the model evaluate. Before going to other
        code, the user reads where they are for half a second to a second (the engine may warm)."""
        if kind != "open":
            await asyncio.sleep(self.rng.uniform(0.5, 1.0))
        before = len(await self.stats())
        return await self._measured(kind, uri, offset, invoked, before)

    async def _measured(
        self, kind: str, uri: str, offset: int, invoked: bool, before: int
    ) -> types.InlineCompletionItem | None:
        record = Request(kind, uri, self.texts[uri], offset)
        started = time.perf_counter()
        result = await self._ask(uri, offset, invoked)
        record.ms = (time.perf_counter() - started) * 1000
        item = result.items[0] if result is not None and result.items else None
        record.shown = item is not None
        await asyncio.sleep(0.05)
        for entry in (await self.stats())[before:]:
            if entry.get("uri") != uri:
                continue
            if "cache" in entry:
                record.parts["cache"] = entry["cache"]
                continue
            record.evaluated += entry["evaluated_tokens"]
            record.prompt = max(record.prompt, entry["prompt_tokens"])
            record.prompt_ms += entry.get("prompt_ms") or 0.0
            for key in ("queued_ms", "prompt_ms", "first_token_ms", "engine_ms", "generated_tokens", "stop_reason"):
                record.parts[key] = entry[key]
        self.requests.append(record)
        self.replay.append(record)
        return item

    async def type(self, uri: str, offset: int, text: str) -> int:
        """Type `text` at `offset`, one character at a time, as typing_bench does; the new cursor."""
        before = len(await self.stats())
        pending: list[asyncio.Future[None]] = []
        typed: list[Request] = []
        for char in text:
            self.edit(uri, offset, offset, char)
            offset += 1
            self.keystrokes += 1
            record = Request("typing", uri, self.texts[uri], offset)
            typed.append(record)
            if self.keystrokes % BASELINE_EVERY == 0:
                self.replay.append(record)
            started = time.perf_counter()
            request = asyncio.ensure_future(self._ask(uri, offset, invoked=False))

            async def wait(record: Request = record, request: Any = request, started: float = started) -> None:
                try:
                    result = await request
                    record.shown = bool(result and result.items)
                except Exception:
                    record.shown = False
                record.ms = (time.perf_counter() - started) * 1000

            pending.append(asyncio.ensure_future(wait()))
            pause = self.rng.uniform(0.03, 0.12)
            if not char.isalnum() and self.rng.random() < 0.5:
                pause += self.rng.uniform(0.25, 0.6)
            await asyncio.sleep(pause)
        await asyncio.wait_for(asyncio.gather(*pending), 600)
        await asyncio.sleep(0.05)
        entries = [e for e in (await self.stats())[before:] if "cache" not in e and e.get("uri") == uri]
        # Tokens are counted per keystroke: spread the burst's total over its keystrokes.
        total, prompt = (
            sum(e["evaluated_tokens"] for e in entries),
            max((e["prompt_tokens"] for e in entries), default=0),
        )
        for record in typed:
            record.evaluated, record.prompt = 0, prompt
        if typed:
            typed[0].evaluated = total  # the sum is what matters; per-keystroke means divide by count
        self.requests.extend(typed)
        return offset

    async def accept(self, uri: str, offset: int) -> int:
        """Ask at the cursor, insert the suggestion whole, and measure the request that follows."""
        item = await self._ask(uri, offset, invoked=True)
        suggestion = item.items[0] if item is not None and item.items else None
        if suggestion is None or not isinstance(suggestion.insert_text, str) or suggestion.range is None:
            return offset
        text = suggestion.insert_text
        end = offset + (suggestion.range.end.character - suggestion.range.start.character)
        before = len(await self.stats())
        self.edit(uri, offset, end, text)
        offset += len(text)
        await self._measured("accept", uri, offset, False, before)
        return offset


# An assignment, augmented assignment or return on its own line: code, not a docstring or a header.
_STATEMENT = re.compile(r"^\s+(return\b|[A-Za-z_][\w.\[\]]*\s*[-+*/|&]?=[^=])")


def code_lines(text: str) -> list[int]:
    """0-based lines holding a simple statement inside a block (a regex: accepted suggestions of a
    random-weights model leave the file unparseable)."""
    return [n for n, line in enumerate(text.split("\n")) if _STATEMENT.match(line)]


def line_end(text: str, line: int) -> int:
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


def near(text: str, line: int, distance: int) -> int:
    """The code line closest to `distance` lines from `line`."""
    return min(code_lines(text), key=lambda candidate: (abs(candidate - line - distance), candidate))


def new_line(text: str, line: int) -> str:
    """A line to add after `line`: a copy of it, cut to 24 characters at a word end."""
    source = text.split("\n")[line]
    indent = source[: len(source) - len(source.lstrip())]
    body = source.strip()
    if len(body) > 24:
        body = body[:24].rsplit(" ", 1)[0]
    return "\n" + indent + body


async def add_line(editor: Editor, uri: str, line: int, kind: str) -> int:
    """Move to the end of `line`, ask (measured as `kind`), and type a new line below it."""
    cursor = line_end(editor.texts[uri], line)
    await editor.request(kind, uri, cursor)
    return await editor.type(uri, cursor, new_line(editor.texts[uri], line))


async def session(editor: Editor) -> None:
    A, B = list(editor.files)
    editor.open(A)
    line = near(editor.texts[A], editor.texts[A].count("\n") * 3 // 5, 0)
    cursor = await add_line(editor, A, line, "open")
    cursor = await editor.accept(A, cursor)
    for distance in (-10, 6, -5):  # to other code within the window, as one moves between functions
        line = near(editor.texts[A], editor.texts[A].count("\n", 0, cursor), distance)
        cursor = await add_line(editor, A, line, "move")
        if distance == 6:
            cursor = await editor.accept(A, cursor)
    # Delete a block of two lines and type it again.
    text = editor.texts[A]
    line = text.count("\n", 0, cursor) + 1
    start, end = line_end(text, line - 1), line_end(text, line + 1)
    block = text[start:end]  # "\n" and two lines
    editor.edit(A, start, end, "")
    a_cursor = await editor.type(A, start, block)
    editor.open(B)
    b_line = near(editor.texts[B], editor.texts[B].count("\n") // 2, 0)
    b_cursor = await add_line(editor, B, b_line, "open")
    b_cursor = await editor.accept(B, b_cursor)
    for _ in range(1):  # back and forth between the files
        await editor.request("switch", A, a_cursor)
        a_cursor = await editor.type(A, a_cursor, " # checked")
        await editor.request("switch", B, b_cursor)
        b_cursor = await editor.type(B, b_cursor, " # checked")
    await editor.request("switch", A, a_cursor)
    line = editor.texts[A].count("\n", 0, a_cursor)
    far = near(editor.texts[A], line, -line // 2)  # another function, out of the window
    cursor = await add_line(editor, A, far, "far move")
    line = near(editor.texts[A], editor.texts[A].count("\n", 0, cursor), -6)
    cursor = await add_line(editor, A, line, "move")
    await editor.accept(A, cursor)


def make_workspace(folder: Path, files: dict[str, str]) -> dict[str, str]:
    """For `--repository`: copies of the files' packages (or modules) in `folder`; the files by their
    URIs there."""
    for top in dict.fromkeys(name.split("/")[0] for name in files.values()):
        source = STDLIB / top
        if source.is_dir():
            shutil.copytree(source, folder / top, ignore=shutil.ignore_patterns("__pycache__", "test", "tests"))
        else:
            shutil.copy(source, folder / top)
    return {(folder / name).as_uri(): name for name in files.values()}


async def wait_indexed(client: Any, files: int, timeout: float = 300.0) -> dict[str, Any]:
    """Wait until the server's index holds the workspace's files (it starts two seconds after the
    model), or holds some and has not grown for two seconds."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while True:
        repository = dict((await status(client)).get("repository") or {})
        held = int(repository.get("files", 0))
        if held != seen:
            seen, since = held, time.monotonic()
        if held >= files or (held and time.monotonic() - since > 2) or time.monotonic() > deadline:
            return repository
        await asyncio.sleep(0.2)


async def run_server(
    model: Path, options: dict[str, Any], seed: int, files: str = "report", workspace: Path | None = None
) -> Editor:
    chosen = dict(FILE_SETS[files])
    if workspace is not None:
        chosen = make_workspace(workspace, chosen)
    env = server_env(CODELLAMA_LS_MODEL=str(model))
    client, _ = await start(REAL_SERVER, env, init_options=options, root=workspace or ROOT)
    editor = Editor(client, random.Random(seed), files=chosen, root=workspace or STDLIB)
    try:
        state = await wait_ready(client, timeout=600)
        if state["state"] != "ready":
            raise SystemExit(f"model did not load: {state.get('error')}")
        editor.threads = int(state.get("threads") or 0)
        if workspace is not None:
            editor.index = await wait_indexed(client, len(list(workspace.rglob("*.py"))))
        await session(editor)
    finally:
        await client.shutdown_session()
    return editor


def llama_vim_body(text: str, offset: int, n_predict: int) -> dict[str, Any]:
    """/infill as llama.vim sends it: 256 lines before, the cursor line's head as `prompt`, the rest
    of the line and 64 lines after; its server-side cache on."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    before = text[: max(start - 1, 0)].split("\n")[-256:] if start else []
    after = text[end + 1 :].split("\n")[:64]
    return {
        "input_prefix": "\n".join(before) + "\n" if before else "",
        "prompt": text[start:offset],
        "input_suffix": text[offset:end] + "\n" + "\n".join(after) + "\n",
        "input_extra": [],
        "n_predict": n_predict,
        "top_k": 40,
        "top_p": 0.90,
        "samplers": ["top_k", "top_p", "infill"],
        "cache_prompt": True,
    }


def baseline_llama_server(
    model: Path, replay: list[Request], options: dict[str, Any], threads: int
) -> list[Request] | str:
    binary = find_llama_server()
    if binary is None:
        return "not measured: no llama-server binary (scripts/build-llama-server builds one)"
    port = 18182
    # llama.vim's 256 lines before the cursor need more context than our window: at least 4,096.
    server = start_llama_server(
        binary, model, max(options["nCtx"], 2048), port, threads, gpu=options["nGpuLayers"] != 0
    )
    out = []
    try:
        for state in replay:
            body = json.dumps(llama_vim_body(state.text, state.offset, options["maxTokens"])).encode()
            started = time.perf_counter()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/infill", body, {"Content-Type": "application/json"}
            )
            try:
                reply = json.loads(urllib.request.urlopen(request, timeout=600).read())
            except urllib.error.HTTPError as exc:  # e.g. a prompt over its context: count it as no answer
                print(f"llama-server refused a request: {exc}", file=sys.stderr)
                continue
            timings = reply.get("timings", {})
            out.append(
                Request(
                    state.kind,
                    state.uri,
                    "",
                    state.offset,
                    ms=(time.perf_counter() - started) * 1000,
                    shown=True,
                    evaluated=int(timings.get("prompt_n", 0)),
                    prompt=int(reply.get("tokens_evaluated", 0)),
                    prompt_ms=float(timings.get("prompt_ms", 0.0)),
                )
            )
    finally:
        server.terminate()
        server.wait()
    return out


def baseline_fresh(
    model: Path, replay: list[Request], options: dict[str, Any], per_kind: int, threads: int
) -> list[Request]:
    """A fresh prefix-first prompt per request, nothing cached: a plain llama-cpp-python loop. Its cost
    does not depend on what came before, so `per_kind` states of each kind are enough."""
    taken: dict[str, int] = {}
    sample = []
    for state in replay:
        if taken.get(state.kind, 0) < per_kind:
            taken[state.kind] = taken.get(state.kind, 0) + 1
            sample.append(state)
    replay = sample
    import llama_cpp

    from codellama_ls.completion.pipeline import plan
    from codellama_ls.completion.snapshot import snapshot_of
    from codellama_ls.documents.document import Document
    from codellama_ls.engine.base import vocab_of
    from codellama_ls.engine.llama import LlamaEngine
    from codellama_ls.settings.config import Settings

    layers = options["nGpuLayers"]
    engine = LlamaEngine(model, n_ctx=options["nCtx"], n_gpu_layers=layers, n_threads=threads)
    vocab = vocab_of(engine)
    same = {"n_threads": threads, "n_threads_batch": threads} if threads else {}
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=options["nCtx"], verbose=False, n_gpu_layers=layers, **same)
    settings = Settings(fim_format="psm", max_tokens=options["maxTokens"], cross_file=False)
    out = []
    for state in replay:
        doc = Document(state.uri, "python", 1, state.text)
        tokens = plan(vocab, options["nCtx"], snapshot_of(doc, state.offset), settings).tokens
        started = time.perf_counter()
        llm.reset()
        generated = 0
        for token in llm.generate(tokens, temp=0.0, top_k=1, repeat_penalty=1.0):
            generated += 1
            if token == 32010 or generated >= options["maxTokens"]:
                break
        ms = (time.perf_counter() - started) * 1000
        out.append(Request(state.kind, state.uri, "", state.offset, ms, True, len(tokens), len(tokens)))
    engine.close()
    llm.close()
    return out


def summarize(requests: list[Request]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        mine = [r for r in requests if r.kind == kind]
        if not mine:
            continue
        # Typing requests superseded by the next keystroke answer empty at once: timed when shown.
        # Every other request is waited for and timed, shown or not (a random-weights model's
        # pieces are mostly empty text, so whether one shows is luck, not speed).
        timed = [r.ms for r in mine if r.ms is not None and (r.shown or kind != "typing")]
        evaluated = sum(r.evaluated for r in mine)
        prompt = statistics.mean(r.prompt for r in mine if r.prompt) if any(r.prompt for r in mine) else 0
        per_request = evaluated / len(mine)
        # Prompt speed where the prompt time is known (typing requests are not waited for one by one).
        timed_prompts = [r for r in mine if r.prompt_ms > 0 and r.evaluated > 0]
        speed = (
            sum(r.evaluated for r in timed_prompts) / sum(r.prompt_ms for r in timed_prompts) * 1000
            if timed_prompts
            else 0.0
        )
        table[kind] = {
            "requests": len(mine),
            "with suggestion": sum(r.shown for r in mine),
            "p50 ms": round(percentile(timed, 0.5), 1),
            "p95 ms": round(percentile(timed, 0.95), 1),
            "tokens evaluated per request": round(per_request, 1),
            "of the prompt": f"{per_request / prompt:.0%}" if prompt else "-",
            "prompt tok/s": round(speed) if speed else "-",
        }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a GGUF; default: a generated Code Llama-shaped model")
    parser.add_argument(
        "--shape", default="1.3b", choices=("small", "medium", "1.3b", "7b"), help="1.3b, what users run; small: quick"
    )
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--n-ctx", type=int, default=4096, help="the server's default")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-baselines", action="store_true", help="only the session through codellama-ls")
    parser.add_argument("--gpu", action="store_true", help="every layer on the GPU, for every system")
    parser.add_argument(
        "--files", default="report", choices=tuple(FILE_SETS), help="report (recorded) or develop (tuned on)"
    )
    parser.add_argument("--fresh-per-kind", type=int, default=1, help="states of each kind for the fresh baseline")
    parser.add_argument(
        "--repository", action="store_true", help="edit the files inside an indexed workspace (repository context)"
    )
    args = parser.parse_args()
    model = args.model or cached(args.shape, Path(tempfile.gettempdir()) / "codellama-ls-bench")
    # The gate would drop every suggestion of a random-weights model; the session needs some to accept.
    options = {"maxTokens": args.max_tokens, "nCtx": args.n_ctx, "maxLines": 1, "syntaxCheck": False}
    # Every layer on the GPU for every system (the server's default nGpuLayers -1 does so in a GPU build).
    options["nGpuLayers"] = -1 if args.gpu else 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="codellama-ls-workspace-") as folder:
        workspace = Path(folder).resolve() if args.repository else None
        editor = asyncio.run(run_server(model, options, args.seed, args.files, workspace))
    files = ", ".join(editor.files.values())
    print(f"files {args.files}: {files}; model {model.name}, n_ctx {args.n_ctx}, {editor.threads} threads", flush=True)
    if args.repository:
        held = editor.index
        print(
            f"repository context: a workspace of {held.get('files')} files, {held.get('definitions')} definitions"
            f" indexed in {held.get('scan_seconds')} s before the session",
            flush=True,
        )
    print("codellama-ls (the baselines follow)", flush=True)
    for kind, row in summarize(editor.requests).items():
        print(f"  {kind:10} " + "  ".join(f"{key}: {value}" for key, value in row.items()), flush=True)
    skipped = "not measured (--no-baselines)"
    server = skipped if args.no_baselines else baseline_llama_server(model, editor.replay, options, editor.threads)
    if not isinstance(server, str):
        print("llama-server /infill (llama.vim)", flush=True)
        for kind, row in summarize(server).items():
            print(f"  {kind:10} " + "  ".join(f"{key}: {value}" for key, value in row.items()), flush=True)
    fresh: list[Request] | str = (
        skipped
        if args.no_baselines
        else baseline_fresh(model, editor.replay, options, args.fresh_per_kind, editor.threads)
    )
    summary: dict[str, Any] = {
        "model": str(model),
        "n_ctx": args.n_ctx,
        "files": list(editor.files.values()),
        "threads": editor.threads,
        "repository context": editor.index or "no workspace (--repository not given)",
        "codellama-ls": summarize(editor.requests),
        "llama-server /infill (llama.vim)": server if isinstance(server, str) else summarize(server),
        "fresh PSM prompt (llama-cpp-python)": fresh if isinstance(fresh, str) else summarize(fresh),
        "replayed to the baselines": len(editor.replay),
        "codellama-ls requests": [
            {"kind": r.kind, "ms": r.ms, "shown": r.shown, "evaluated": r.evaluated, "prompt": r.prompt, **r.parts}
            for r in editor.requests
            if r.kind != "typing"
        ],
        "llama-server requests": [
            {"kind": r.kind, "ms": r.ms, "evaluated": r.evaluated, "prompt": r.prompt}
            for r in ([] if isinstance(server, str) else server)
            if r.kind != "typing"
        ],
        "minutes": round((time.perf_counter() - started) / 60, 1),
    }
    for name in ("codellama-ls", "llama-server /infill (llama.vim)", "fresh PSM prompt (llama-cpp-python)"):
        print(f"\n{name}")
        table = summary[name]
        if isinstance(table, str):
            print(f"  {table}")
            continue
        for kind, row in table.items():
            print(f"  {kind:10} " + "  ".join(f"{key}: {value}" for key, value in row.items()))
    print("\ncodellama-ls, each request waited for: where its time went")
    for entry in summary["codellama-ls requests"]:
        print("  " + "  ".join(f"{key}: {value}" for key, value in entry.items()))
    print(f"\n{summary['replayed to the baselines']} states replayed to the baselines; {summary['minutes']} min")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
